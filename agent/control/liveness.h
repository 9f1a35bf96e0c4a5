// Liveness: what the "liveness" health service (and HTTP /healthz/live) answers: "the core
// answers", not merely "vigil-control runs" (docs/control.md, "Health").
//
// Pings are sent on demand, never on a timer, so an idle core still makes no wake-up: a check
// that finds no answer from the core fresher than `answer_within`, and no ping outstanding,
// sends one (through `ping`, which must not block and calls OnAnswer() when the Result comes).
// Every frame the core sends counts as an answer too: a core that is busy draining streams
// events and is alive. A ping left unanswered is one miss per `answer_within` it waits; after
// `misses` of them (6 s by default) Check() says false, and true again with the next answer.
// A check never waits for the core: it answers from what is known at once.
//
// A liveness Watch needs answers with no check arriving: while anyone is subscribed, a thread
// re-checks every answer_within / 2 and reports changes.
//
// Thread-safe. `clock` must be safe to read from several threads (MonotonicClock is).
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "agent/base/clock.h"

namespace vigil::control {

struct LivenessOptions {
  Duration answer_within = std::chrono::seconds(2);  // a ping's answer is due within this
  int misses = 3;                                    // unanswered for this many: NOT_SERVING
};

class Liveness {
 public:
  using Options = LivenessOptions;
  using Listener = std::function<void(bool alive)>;

  explicit Liveness(const Clock& clock, Options options = Options());
  ~Liveness();
  Liveness(const Liveness&) = delete;
  Liveness& operator=(const Liveness&) = delete;

  // How a ping is sent: set once, before the first Check().
  void set_ping(std::function<void()> ping) { ping_ = std::move(ping); }
  // No ping after this, and the watch thread is stopped (at exit, before the connection goes).
  void Stop();

  // One liveness check: false once the core has missed `misses` answers. May send a ping.
  bool Check();
  // The core answered a ping or sent anything else.
  void OnAnswer();
  // `listener` is called on the watch thread with every change of Check()'s answer.
  int Subscribe(Listener listener, bool alive_now);
  void Unsubscribe(int id);

 private:
  void WatchLoop();

  const Clock& clock_;
  std::function<void()> ping_;
  const Options options_;

  std::mutex mu_;
  MonoTime last_answer_;
  bool outstanding_ = false;  // a ping sent and not answered yet
  bool stopped_ = false;
  MonoTime ping_sent_{};

  std::mutex watch_mu_;  // never held with mu_: the watch thread checks without it
  std::condition_variable watch_cv_;
  std::map<int, std::pair<Listener, bool>> listeners_;  // listener, last answer it got
  int next_id_ = 1;
  bool stopping_ = false;
  std::thread watcher_;
};

}  // namespace vigil::control
