// Creating listening sockets: one per worker per listener, with SO_REUSEPORT so the kernel
// spreads connections across the workers' accept queues.
#pragma once

#include <string>

#include "config/config.h"

namespace sluice::proxy {

// A bound, listening, non-blocking TCP socket for `address`, or -1 with `error` set.
int openListenSocket(const config::Address& address, bool reuse_port, std::string& error);

// Sets TCP_DEFER_ACCEPT on a listening socket (`listeners[].defer_accept`): the kernel hands a
// connection over when its first bytes arrive, or after its first SYN-ACK retransmission (about
// a second) if it stays silent. Returns 0 or errno.
int setDeferAccept(int fd, bool on);

}  // namespace sluice::proxy
