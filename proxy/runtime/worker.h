// A worker: one thread, one libuv loop, its own SO_REUSEPORT listening sockets, and every client
// and upstream connection accepted on them. The main thread talks to it only through post().
#pragma once

#include <uv.h>

#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/http1/client_connection.h"
#include "proxy/net/uring_loop.h"
#include "proxy/net/uv_handle.h"
#include "proxy/runtime/memory_release.h"
#include "proxy/runtime/worker_context.h"

namespace sluice::proxy {

// A bound, listening socket made by the main thread for one worker.
struct ListenerSocket {
  std::string name;
  std::string address;  // the key: a reload that keeps an address keeps the socket
  int fd = -1;
};

class Worker {
 public:
  Worker(int index, Metrics& metrics, SharedState& shared);
  ~Worker();

  // Starts the thread serving `snapshot` on `listeners` (ownership of the fds passes).
  void start(SnapshotPtr snapshot, std::vector<ListenerSocket> listeners);
  // Blocks until the thread has its I/O backend and listeners and is entering its loop, so the
  // process says it is ready (log line, systemd READY=1) only once every worker serves.
  void waitStarted() { started_future_.wait(); }
  // Runs `fn` on the worker's thread, soon. Thread-safe.
  void post(std::function<void(Worker&)> fn);
  // Adopts a new snapshot: opens `added` listeners, closes those whose address is gone.
  // Thread-safe.
  void reload(SnapshotPtr snapshot, std::vector<ListenerSocket> added);
  // Stops accepting and lets connections finish. Thread-safe.
  void drain();
  // Closes everything and ends the thread; join() waits for it. Thread-safe.
  void stop();
  void join();
  // SIGUSR1: reopen the access log file (log rotation). Worker thread (use post()).
  void reopenAccessLog();
  // Client connections open now (any thread; approximate: as of the loop's last iteration, so a
  // connection accepted since may be missing, until drained() is true).
  int64_t activeConnections() const { return active_.load(std::memory_order_relaxed); }
  // The drain() has run on the worker's thread: its listeners are closed, and it accepts no more,
  // so activeConnections() counts every connection it will ever have (never fewer). Until then a
  // count of 0 proves nothing: the worker may accept one any moment. Any thread.
  bool drained() const { return drained_.load(std::memory_order_acquire); }

 private:
  // Accepting is done here, not by uv_listen: libuv accepts until EAGAIN, and on Linux a failed
  // accept4 still allocates and frees a socket (~3 us, measured), once per churned connection.
  struct Listener {
    uv_poll_t poll;
    int fd = -1;
    // The last accept failed for want of descriptors (logged once): polling stopped and is
    // started again at each sweep until an accept succeeds.
    bool starved = false;
    ListenerSeries series;
    std::string name;
    std::string address;
    Worker* worker;
  };

  void run();
  void startIoBackend();
  void openListener(const ListenerSocket& s);
  void closeListener(Listener* l);
  void applyAccessLog();
  static void onAsync(uv_async_t* a);
  static void onAcceptable(uv_poll_t* poll, int status, int events);
  void onPrepare();
  void onSweep();
  void handOverSpans();  // the span batch to the exporter, whatever its size

  int index_;
  Metrics& metrics_;
  SharedState& shared_;
  uv_loop_t loop_;
  uv_async_t async_;  // embedded: post() may signal it from any thread until the worker ends
  Prepare prepare_;
  Timer sweep_;  // client header/idle deadlines, every kSweepMs
  MemoryReleaser memory_;
  std::unique_ptr<WorkerContext> ctx_;
  // The io_uring socket backend (`io:`), set up on the worker's thread; null: libuv/epoll.
  std::unique_ptr<UringLoop> ring_;
  std::vector<Listener*> listeners_;
  std::vector<ListenerSocket> initial_listeners_;
  std::string access_log_key_;
  std::thread thread_;
  std::promise<void> started_;
  std::shared_future<void> started_future_ = started_.get_future().share();
  std::mutex mu_;
  std::vector<std::function<void(Worker&)>> inbox_;
  std::atomic<int64_t> active_{0};
  std::atomic<bool> drained_{false};
  bool stopping_ = false;
};

}  // namespace sluice::proxy
