// ReadModel: vigil-control's picture of the agent, rebuilt from the core's snapshot and kept
// current by its Events, in the public API's types (vigil.v1). Thread-safe: the core
// connection's thread writes, gRPC threads read and subscribe.
//
// A snapshot comes in parts (ipc.proto, Snapshot): they build a new picture beside the current
// one, events apply to both, and the last part replaces the current picture; the model is
// "connected" from the first complete one, and "current" while no fresh snapshot (sent after
// the core dropped events) is arriving. A completed snapshot is published as a SNAPSHOT
// event, then, once a drain has started, a DRAIN event with its progress (the events the
// snapshot replaced may have held its completion). Readers get the status in pages of about
// kPageBudget bytes (Page()), so that no answer's size depends on the size of the pools; Watch
// streams share one immutable copy of all the pages of a state (SnapshotPages()).
//
// Subscribers (Watch streams, Drain waiters, the health service) are called in the order events
// arrived, from the connection thread (or, for the snapshot a new subscriber asked for, from
// its own); they must not block, and must not subscribe or unsubscribe from the call (they may
// read the model).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "vigil/internal/v1/ipc.pb.h"
#include "vigil/v1/lifecycle.pb.h"

namespace vigil::control {

// A page of the status holds about this many bytes of pools and workers (and one worker at
// least): under gRPC's default 4 MiB receive limit with room to spare, so any client can read it.
inline constexpr size_t kPageBudget = 1u << 20;

// Where a page starts: the index of a pool, and the slot of its first worker on that page.
struct PageStart {
  int pool = 0;
  int slot = 0;
};
std::string PageToken(const PageStart& start);
std::optional<PageStart> ParsePageToken(const std::string& token);  // nullopt: malformed

// One page of `status`: its phase, readiness and drain, then its pools from `start`, each with
// its workers (from start.slot for the first), until `budget` bytes of them. Returns where the
// next page starts, or nullopt when this one reaches the end.
std::optional<PageStart> CopyPage(const v1::AgentStatus& status, const PageStart& start,
                                  size_t budget, v1::AgentStatus* out);

class ReadModel {
 public:
  using Listener = std::function<void(const v1::Event&)>;
  // The status as SNAPSHOT events (SnapshotEvents()), immutable, shared by every reader.
  using Pages = std::shared_ptr<const std::vector<v1::Event>>;

  void ApplySnapshot(const internal::v1::Snapshot& part);
  void ApplyEvent(const internal::v1::Event& event);

  // The whole status (tests and small agents; the API pages it: Page()).
  v1::AgentStatus Status() const;
  std::optional<PageStart> Page(const PageStart& start, size_t budget, v1::AgentStatus* out) const;
  // The status as SNAPSHOT events of about `budget` bytes each, `more` on all but the last.
  std::vector<v1::Event> SnapshotEvents(size_t budget = kPageBudget) const;
  // SnapshotEvents() of the current status, built once per state and shared: every Watch
  // stream that sends the same state holds the same copy, whatever the number of streams.
  Pages SnapshotPages() const;
  // A pool's counts and flags without its workers; false when there is no such pool.
  bool PoolCounts(const std::string& name, v1::Pool* out) const;
  bool connected() const;
  // Connected, and no fresh snapshot under way. The core starts one after dropping the events
  // of a vigil-control that fell behind (its first part comes in place of them): until its last
  // part, the picture misses what was dropped, though the events after the hole keep its phase,
  // readiness, drain and counts right.
  bool current() const;
  bool ready() const;
  // The drain's progress; false when no drain has started.
  bool DrainProgress(v1::DrainProgress* out) const;

  // Returns an id for Unsubscribe. The listener gets every event from now on; with
  // `with_snapshot`, a SNAPSHOT event first. A SNAPSHOT event (this one, or one published later
  // for a fresh snapshot from the core) carries no status: listeners that want it take
  // SnapshotPages() from the call: it holds every event delivered before the SNAPSHOT event (and
  // maybe the next ones, delivered after it: applying an event twice changes nothing).
  int Subscribe(Listener listener, bool with_snapshot);
  void Unsubscribe(int id);

 private:
  void Publish(const v1::Event& event);  // Called without mu_.

  mutable std::mutex mu_;
  bool connected_ = false;
  v1::AgentStatus status_;
  mutable Pages pages_;    // SnapshotPages() of status_, once asked for; reset when it changes
  bool building_ = false;  // a snapshot's parts are arriving
  v1::AgentStatus pending_;
  std::map<int, Listener> listeners_;
  int next_id_ = 1;
  // Held while listeners are called, so a new subscriber's snapshot and the events after it
  // reach it in order. Taken before mu_, never inside it.
  std::mutex publish_mu_;
};

// The internal messages in the public API's terms (text through PublicText).
void ToPublic(const internal::v1::WorkerInfo& in, v1::Worker* out);
void ToPublic(const internal::v1::PoolInfo& in, v1::Pool* out);
void ToPublic(const internal::v1::DrainInfo& in, v1::DrainProgress* out);

}  // namespace vigil::control
