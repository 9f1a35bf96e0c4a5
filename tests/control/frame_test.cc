#include "agent/ipc/frame.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil {
namespace {

TEST(Frame, EncodesLengthLittleEndianThenPayload) {
  const std::string frame = EncodeFrame("abc");
  ASSERT_EQ(frame.size(), 7u);
  EXPECT_EQ(frame.substr(0, 4), std::string("\x03\x00\x00\x00", 4));
  EXPECT_EQ(frame.substr(4), "abc");
}

TEST(Frame, DecodesFramesSplitAcrossReadsAndBatchedInOne) {
  const std::string stream = EncodeFrame("first") + EncodeFrame("") + EncodeFrame("third");
  FrameDecoder decoder;
  bool corrupt = false;
  // One byte at a time: nothing comes out before a frame is whole.
  std::vector<std::string> out;
  for (char c : stream) {
    decoder.Append(&c, 1);
    while (auto p = decoder.Next(&corrupt))
      out.push_back(*p);
    ASSERT_FALSE(corrupt);
  }
  EXPECT_EQ(out, (std::vector<std::string>{"first", "", "third"}));
  EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(Frame, OversizedLengthIsCorrupt) {
  FrameDecoder decoder;
  const std::string bad("\xff\xff\xff\x7f", 4);
  decoder.Append(bad.data(), bad.size());
  bool corrupt = false;
  EXPECT_FALSE(decoder.Next(&corrupt).has_value());
  EXPECT_TRUE(corrupt);
}

TEST(Frame, ManyFramesKeepTheBufferBounded) {
  FrameDecoder decoder;
  const std::string frame = EncodeFrame(std::string(1000, 'x'));
  bool corrupt = false;
  for (int i = 0; i < 1000; ++i) {
    decoder.Append(frame.data(), frame.size());
    ASSERT_TRUE(decoder.Next(&corrupt).has_value());
  }
  EXPECT_EQ(decoder.buffered(), 0u);
}

}  // namespace
}  // namespace vigil
