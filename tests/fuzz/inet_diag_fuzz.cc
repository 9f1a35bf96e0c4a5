// Fuzz target: the inet_diag dump replies Vigil reads from the kernel for the traffic-aware
// drain (agent/sys/tcp_table.h, ParseInetDiagReply). The kernel is trusted, but a parser of
// length-prefixed binary must still never read out of bounds or loop, whatever the bytes.
//
// Invariants: every call returns; the records appended never exceed the limit; an inode is
// appended with each record; a reply of only whole valid records and no DONE is not "done".
#include <cstdint>
#include <vector>

#include "agent/sys/tcp_table.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  constexpr size_t kLimit = 64;
  std::vector<TcpConnection> out;
  std::vector<uint32_t> inodes;
  for (uint32_t seq : {0u, 1u}) {
    out.clear();
    inodes.clear();
    StatusOr<bool> done = ParseInetDiagReply(data, size, &out, &inodes, kLimit, seq);
    FUZZ_CHECK(out.size() <= kLimit, "more records than the limit");
    FUZZ_CHECK(out.size() == inodes.size(), "a record without its inode");
    if (!done.ok()) FUZZ_CHECK(!done.status().message().empty(), "an error says nothing");
  }
  return 0;
}
