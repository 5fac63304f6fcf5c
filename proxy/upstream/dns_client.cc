#include "proxy/upstream/dns_client.h"

#include <ares.h>
#include <arpa/nameser.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>

#include "proxy/net/uv_handle.h"
#include "proxy/runtime/log.h"

namespace sluice::proxy {

namespace {
constexpr int kTimeoutMs = 2000;  // per try and server: a dead server costs a round 4 s at most
constexpr int kTries = 2;

std::string serversText(const std::vector<config::Address>& servers) {
  std::string csv;
  for (const config::Address& a : servers) csv += (csv.empty() ? "" : ",") + a.text();
  return csv;
}
}  // namespace

// One c-ares channel and the libuv handles that drive it. `depth` counts our calls into c-ares
// that have not returned: a channel is only freed outside of them (c-ares forbids ares_destroy
// from its callbacks).
struct DnsClient::Channel {
  DnsClient* owner = nullptr;
  ares_channel ch = nullptr;
  std::string servers;  // as configured, "" for resolv.conf
  Timer timer;
  std::map<int, UvHandle<uv_poll_t>> polls;  // by socket
  int pending = 0;
  int depth = 0;
  bool retired = false;
  bool closed = false;
};

struct DnsClient::Query {
  Channel* channel;
  SrvDone srv;
  AddressesDone addresses;
  uint16_t port = 0;
};

DnsClient::DnsClient(uv_loop_t* loop) : loop_(loop) {
  static const int init = ares_library_init(ARES_LIB_INIT_ALL);
  if (init != ARES_SUCCESS) logError(std::string("c-ares: ") + ares_strerror(init));
}

DnsClient::~DnsClient() {
  close();
}

DnsClient::Channel* DnsClient::start(std::string& error) {
  auto c = std::make_unique<Channel>();
  c->owner = this;
  ares_options o{};
  o.sock_state_cb = [](void* data, ares_socket_t fd, int r, int w) { onSockState(data, fd, r, w); };
  o.sock_state_cb_data = c.get();
  o.timeout = kTimeoutMs;
  o.tries = kTries;
  int rc =
      ares_init_options(&c->ch, &o, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (rc != ARES_SUCCESS) {
    error = std::string("c-ares: ") + ares_strerror(rc);
    return nullptr;
  }
  Channel* raw = c.get();
  if (!c->timer.init(loop_, "dns timer", [raw] {
        raw->depth++;
        ares_process_fd(raw->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        raw->depth--;
        settle(raw);
      })) {
    ares_destroy(c->ch);
    error = "c-ares: cannot start its timer";
    return nullptr;
  }
  return c.release();
}

bool DnsClient::use(const std::vector<config::Address>& servers, std::string& error) {
  std::string text = serversText(servers);
  if (current_ != nullptr && current_->servers == text) return true;
  if (current_ != nullptr) {
    current_->retired = true;
    retired_.push_back(current_);
    Channel* old = std::exchange(current_, nullptr);
    if (old->depth == 0) settle(old);
  }
  current_ = start(error);
  if (current_ == nullptr) {
    error_ = error;
    return false;
  }
  current_->servers = text;
  if (!text.empty()) {
    int rc = ares_set_servers_ports_csv(current_->ch, text.c_str());
    if (rc != ARES_SUCCESS) {
      error = error_ = "resolver servers " + text + ": " + ares_strerror(rc);
      destroy(std::exchange(current_, nullptr));
      return false;
    }
  }
  error_.clear();
  return true;
}

void DnsClient::querySrv(const std::string& name, SrvDone done) {
  if (current_ == nullptr) {
    done({}, error_.empty() ? "c-ares is not started" : error_);
    return;
  }
  Channel* c = current_;
  c->pending++;
  c->depth++;
  ares_query(c->ch, name.c_str(), ns_c_in, ns_t_srv, onSrv, new Query{c, std::move(done), {}});
  c->depth--;
  settle(c);
}

void DnsClient::lookup(const std::string& host, uint16_t port, AddressesDone done) {
  if (current_ == nullptr) {
    done({}, error_.empty() ? "c-ares is not started" : error_);
    return;
  }
  Channel* c = current_;
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = ARES_AI_NUMERICSERV;
  std::string service = std::to_string(port);
  c->pending++;
  c->depth++;
  ares_getaddrinfo(c->ch, host.c_str(), service.c_str(), &hints, onAddresses,
                   new Query{c, {}, std::move(done), port});
  c->depth--;
  settle(c);
}

void DnsClient::onSrv(void* arg, int status, int, unsigned char* abuf, int alen) {
  std::unique_ptr<Query> q(static_cast<Query*>(arg));
  q->channel->pending--;
  if (q->channel->closed || status == ARES_EDESTRUCTION) return;
  std::vector<SrvRecord> records;
  std::string error;
  ares_srv_reply* reply = nullptr;
  if (status == ARES_SUCCESS) status = ares_parse_srv_reply(abuf, alen, &reply);
  if (status == ARES_SUCCESS) {
    for (ares_srv_reply* r = reply; r != nullptr; r = r->next) {
      std::string host = r->host != nullptr ? r->host : "";
      if (host.size() > 1 && host.back() == '.') host.pop_back();
      records.push_back(SrvRecord{host, r->port, r->priority, r->weight});
    }
    ares_free_data(reply);
  } else if (status == ARES_ENODATA || status == ARES_ENOTFOUND) {
    error = "no SRV records";
  } else {
    error = ares_strerror(status);
  }
  q->srv(std::move(records), std::move(error));
}

void DnsClient::onAddresses(void* arg, int status, int, ares_addrinfo* res) {
  std::unique_ptr<Query> q(static_cast<Query*>(arg));
  q->channel->pending--;
  if (q->channel->closed || status == ARES_EDESTRUCTION) {
    if (res != nullptr) ares_freeaddrinfo(res);
    return;
  }
  std::vector<sockaddr_storage> out;
  if (status == ARES_SUCCESS && res != nullptr) {
    for (ares_addrinfo_node* n = res->nodes; n != nullptr; n = n->ai_next) {
      if (n->ai_addr == nullptr || n->ai_addrlen > sizeof(sockaddr_storage)) continue;
      if (n->ai_family != AF_INET && n->ai_family != AF_INET6) continue;
      sockaddr_storage s{};
      std::memcpy(&s, n->ai_addr, n->ai_addrlen);
      out.push_back(s);
    }
  }
  if (res != nullptr) ares_freeaddrinfo(res);
  std::string error;
  if (status != ARES_SUCCESS) {
    error = ares_strerror(status);
  } else if (out.empty()) {
    error = "no addresses";
  }
  q->addresses(std::move(out), std::move(error));
}

void DnsClient::onSockState(void* data, int fd, int readable, int writable) {
  auto* c = static_cast<Channel*>(data);
  if (!readable && !writable) {
    c->polls.erase(fd);  // closes the handle (safe from its own callback)
    return;
  }
  UvHandle<uv_poll_t>& h = c->polls[fd];
  if (!h) {
    uv_loop_t* loop = c->owner->loop_;
    if (!uvCheck(h.open([&](uv_poll_t* p) { return uv_poll_init_socket(loop, p, fd); }),
                 "dns uv_poll_init_socket")) {
      c->polls.erase(fd);  // c-ares times the query out
      return;
    }
    h.get()->data = c;
  }
  int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  uvCheck(uv_poll_start(h.get(), events, onPoll), "dns uv_poll_start");
}

void DnsClient::onPoll(uv_poll_t* p, int status, int events) {
  auto* c = static_cast<Channel*>(p->data);
  int fd = -1;
  uv_fileno(reinterpret_cast<uv_handle_t*>(p), &fd);
  // On an error, let c-ares read and write: it notices the failure and moves on.
  ares_socket_t r = status < 0 || (events & UV_READABLE) ? fd : ARES_SOCKET_BAD;
  ares_socket_t w = status < 0 || (events & UV_WRITABLE) ? fd : ARES_SOCKET_BAD;
  c->depth++;
  ares_process_fd(c->ch, r, w);
  c->depth--;
  settle(c);
}

void DnsClient::settle(Channel* c) {
  if (c->depth > 0 || c->closed) return;
  if (c->retired && c->pending == 0) {
    destroy(c);
    return;
  }
  timeval tv{};
  if (ares_timeout(c->ch, nullptr, &tv) != nullptr) {
    uint64_t ms =
        static_cast<uint64_t>(tv.tv_sec) * 1000 + static_cast<uint64_t>(tv.tv_usec) / 1000;
    c->timer.start(std::max<uint64_t>(ms, 1));
  } else {
    c->timer.stop();
  }
}

void DnsClient::destroy(Channel* c) {
  c->closed = true;
  auto& r = c->owner->retired_;
  r.erase(std::remove(r.begin(), r.end(), c), r.end());
  ares_destroy(c->ch);  // pending queries answer ARES_EDESTRUCTION, dropped above
  c->polls.clear();
  c->timer.close();
  delete c;
}

void DnsClient::close() {
  if (current_ != nullptr) destroy(std::exchange(current_, nullptr));
  while (!retired_.empty()) destroy(retired_.back());
}

}  // namespace sluice::proxy
