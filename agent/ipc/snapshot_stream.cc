#include "agent/ipc/snapshot_stream.h"

namespace vigil {

void SnapshotStream::Restart() {
  active_ = true;
  first_ = true;
  pool_ = 0;
  slot_ = 0;
}

internal::v1::Snapshot SnapshotStream::NextPart(size_t budget) {
  internal::v1::Snapshot part;
  if (first_) {
    part.set_first(true);
    part.set_phase(builder_.Phase());
    part.set_ready(supervisor_.ready());
    if (supervisor_.drain().started) builder_.FillDrain(part.mutable_drain());
    first_ = false;
  }
  size_t bytes = part.ByteSizeLong();
  const auto& pools = supervisor_.pools();
  while (pool_ < pools.size() && bytes < budget) {
    const Pool& pool = *pools[pool_];
    internal::v1::PoolInfo* info = part.add_pools();
    builder_.FillPool(pool, /*with_workers=*/false, info);
    bytes += info->ByteSizeLong();
    // Slots may have gone since the last part (a scale-down): the pool's count decides.
    while (slot_ < pool.slot_count() && bytes < budget) {
      internal::v1::WorkerInfo* w = info->add_workers();
      builder_.FillWorker(pool, slot_, w);
      bytes += w->ByteSizeLong() + 8;  // + the field's tag and length
      ++slot_;
    }
    if (slot_ >= pool.slot_count()) {
      ++pool_;
      slot_ = 0;
    }
  }
  if (pool_ >= pools.size()) {
    part.set_last(true);
    active_ = false;
  }
  return part;
}

}  // namespace vigil
