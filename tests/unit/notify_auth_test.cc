// AuthorizeSender, AuthorizeMainPid and JudgeDatagram: who may speak for a worker run, and whom it
// may name as its main process, from the facts read at receipt (notify_auth.h). Pure.
#include "agent/notify/notify_auth.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil {
namespace {

constexpr pid_t kLeader = 100;
constexpr uint64_t kLeaderIdentity = 5000;
constexpr uint64_t kMainIdentity = 5001;
constexpr pid_t kVigil = 1;

RunIdentity ARun() {
  RunIdentity run;
  run.leader = kLeader;
  run.leader_identity = kLeaderIdentity;
  run.main_pid = kLeader;
  run.main_identity = kLeaderIdentity;
  return run;
}

ProcessFacts Alive(pid_t pid, pid_t pgid, uint64_t identity = 9000) {
  return ProcessFacts{pid, pgid, false, identity};
}

NotifyDatagram From(ProcessFacts facts,
                    NotifySender::Source source = NotifySender::Source::kPidfd) {
  NotifyDatagram d;
  d.data = "READY=1";
  d.size = d.data.size();
  d.sender.source = source;
  d.sender.process = facts;
  d.sender.credentials_pid = facts.pid > 0 ? facts.pid : 0;
  return d;
}

NotifyRejection Cause(const NotifyDatagram& d, const RunIdentity& run = ARun()) {
  return AuthorizeSender(d, run).rejection;
}

TEST(AuthorizeSenderTest, TheLeaderAndMembersOfItsGroupAreHeard) {
  EXPECT_EQ(Cause(From(Alive(kLeader, kLeader, kLeaderIdentity))), NotifyRejection::kNone);
  EXPECT_EQ(Cause(From(Alive(150, kLeader))), NotifyRejection::kNone);
  ProcessFacts zombie = Alive(151, kLeader);
  zombie.exited = true;  // Exited but unreaped: its pid, and the group read, are still its own.
  EXPECT_EQ(Cause(From(zombie)), NotifyRejection::kNone);
  EXPECT_EQ(Cause(From(Alive(150, kLeader), NotifySender::Source::kUcred)), NotifyRejection::kNone);
}

TEST(AuthorizeSenderTest, TheLeaderOrMainProcessIsKnownByIdentityEvenOnceReaped) {
  ProcessFacts gone{-1, -1, true, kLeaderIdentity};
  EXPECT_EQ(Cause(From(gone)), NotifyRejection::kNone);
  RunIdentity run = ARun();
  run.main_pid = 300;
  run.main_identity = kMainIdentity;
  EXPECT_EQ(Cause(From(ProcessFacts{-1, -1, true, kMainIdentity}), run), NotifyRejection::kNone);
  // A main process that left the group (setsid) is still the run's.
  EXPECT_EQ(Cause(From(Alive(300, 300, kMainIdentity)), run), NotifyRejection::kNone);
}

TEST(AuthorizeSenderTest, ASenderGoneBeforeItsDatagramWasReadIsRefused) {
  AuthDecision d = AuthorizeSender(From(ProcessFacts{-1, -1, true, 9000}), ARun());
  EXPECT_EQ(d.rejection, NotifyRejection::kSenderGone);
  EXPECT_NE(d.detail.find("reaped"), std::string::npos) << d.detail;
  // Whatever its pid said: a pid of the group, or the leader's own, by a process that is gone
  // and is not the leader (another identity).
  NotifyDatagram claimed = From(ProcessFacts{-1, -1, true, 9001});
  claimed.sender.credentials_pid = 150;
  EXPECT_EQ(Cause(claimed), NotifyRejection::kSenderGone);
}

TEST(AuthorizeSenderTest, OtherGroupsOutsidersAndMissingCredentialsAreRefused) {
  AuthDecision other = AuthorizeSender(From(Alive(555, 555)), ARun());
  EXPECT_EQ(other.rejection, NotifyRejection::kSenderNotInGroup);
  EXPECT_NE(other.detail.find("555"), std::string::npos) << other.detail;
  EXPECT_EQ(Cause(From(ProcessFacts{0, -1, false, 9000})),
            NotifyRejection::kSenderOutsideNamespace);
  EXPECT_EQ(Cause(From(ProcessFacts{0, -1, false, 0}, NotifySender::Source::kUcred)),
            NotifyRejection::kSenderOutsideNamespace);
  EXPECT_EQ(Cause(From(Alive(150, kLeader), NotifySender::Source::kNone)),
            NotifyRejection::kNoCredentials);
  NotifyDatagram unreadable = From(ProcessFacts{-2, -1, true, 0});
  unreadable.sender.pidfd_error = EMFILE;
  AuthDecision d = AuthorizeSender(unreadable, ARun());
  EXPECT_EQ(d.rejection, NotifyRejection::kNoCredentials);
  EXPECT_NE(d.detail.find("open files"), std::string::npos) << d.detail;
}

TEST(AuthorizeSenderTest, DescriptorsRefuseTheDatagramWhoeverSentIt) {
  NotifyDatagram d = From(Alive(kLeader, kLeader, kLeaderIdentity));
  d.fds_passed = 2;
  EXPECT_EQ(Cause(d), NotifyRejection::kFdPassed);
  d.fds_passed = 0;
  d.control_truncated = true;
  EXPECT_EQ(Cause(d), NotifyRejection::kFdPassed);
}

TEST(AuthorizeSenderTest, WithSCMCredentialsTheLeadersPidNamesItUntilTheRunGoesOnWithoutIt) {
  // pidfd_open() on the pid came too late (the leader was reaped in this turn): its pid still
  // names it, as nothing could have reused it yet.
  NotifyDatagram d = From(ProcessFacts{-1, -1, true, 0}, NotifySender::Source::kUcred);
  d.sender.credentials_pid = kLeader;
  EXPECT_EQ(Cause(d), NotifyRejection::kNone);
  RunIdentity run = ARun();
  run.leader_reaped = true;  // Reaped in an earlier turn: the pid may be anyone's now.
  EXPECT_EQ(Cause(d, run), NotifyRejection::kSenderGone);
  // Never by pid through SCM_PIDFD: the pidfd names the sender itself.
  d.sender.source = NotifySender::Source::kPidfd;
  EXPECT_EQ(Cause(d), NotifyRejection::kSenderGone);
}

TEST(AuthorizeSenderTest, NoRunNoSpeaker) {
  RunIdentity none;
  EXPECT_EQ(Cause(From(Alive(150, -1)), none), NotifyRejection::kSenderNotInGroup);
  EXPECT_EQ(Cause(From(Alive(150, 0)), none), NotifyRejection::kSenderNotInGroup);
}

NotifyRejection MainCause(pid_t candidate, ProcessFacts facts, bool other_worker = false) {
  return AuthorizeMainPid(candidate, facts, ARun(), kVigil, other_worker).rejection;
}

TEST(AuthorizeMainPidTest, ALiveProcessOfTheGroupIsAccepted) {
  EXPECT_EQ(MainCause(300, Alive(300, kLeader)), NotifyRejection::kNone);
  EXPECT_EQ(MainCause(kLeader, Alive(kLeader, kLeader)), NotifyRejection::kNone);
}

TEST(AuthorizeMainPidTest, Pid1VigilAnotherWorkerAGoneOrForeignProcessAreRefused) {
  auto detail = [](pid_t candidate, ProcessFacts facts, pid_t vigil, bool other) {
    AuthDecision d = AuthorizeMainPid(candidate, facts, ARun(), vigil, other);
    EXPECT_EQ(d.rejection, NotifyRejection::kMainPidRefused);
    return d.detail;
  };
  // PID 1 even when it is in the group's data (a namespace's init), and even when Vigil is not it.
  EXPECT_NE(detail(1, Alive(1, kLeader), 4242, false).find("PID 1"), std::string::npos);
  EXPECT_NE(detail(4242, Alive(4242, kLeader), 4242, false).find("Vigil"), std::string::npos);
  EXPECT_NE(detail(200, Alive(200, kLeader), 4242, true).find("another worker"), std::string::npos);
  EXPECT_NE(detail(300, ProcessFacts{-1, -1, true, 0}, 4242, false).find("gone"),
            std::string::npos);
  ProcessFacts zombie = Alive(300, kLeader);
  zombie.exited = true;
  EXPECT_NE(detail(300, zombie, 4242, false).find("gone"), std::string::npos);
  EXPECT_NE(detail(300, Alive(300, 300), 4242, false).find("process group 300"), std::string::npos);
  EXPECT_NE(detail(300, ProcessFacts{0, -1, false, 0}, 4242, false).find("namespace"),
            std::string::npos);
}

// JudgeDatagram: the checks in order (sender, size, syntax), the first failure's cause, and the
// MAINPID= left to check against the OS.
NotifyDatagram Saying(const std::string& text,
                      ProcessFacts sender = Alive(kLeader, kLeader, kLeaderIdentity)) {
  NotifyDatagram d = From(sender);
  d.data = text;
  d.size = text.size();
  return d;
}

TEST(JudgeDatagramTest, AcceptsTheRunsOwnWellFormedDatagramWithWhatItSays) {
  DatagramVerdict v = JudgeDatagram(Saying("READY=1\nSTATUS=up"), ARun());
  ASSERT_TRUE(v.ok()) << v.decision.detail;
  EXPECT_TRUE(v.message.ready);
  EXPECT_EQ(v.message.status, "up");
  EXPECT_FALSE(v.new_main_pid);
}

TEST(JudgeDatagramTest, TheSenderIsJudgedBeforeTheSizeAndTheSyntax) {
  NotifyDatagram stranger = Saying("not a key value", Alive(700, 700));
  stranger.truncated = true;
  EXPECT_EQ(JudgeDatagram(stranger, ARun()).decision.rejection, NotifyRejection::kSenderNotInGroup);
}

TEST(JudgeDatagramTest, ATruncatedDatagramIsOversizedBeforeItIsParsed) {
  NotifyDatagram d = Saying("not a key value");
  d.truncated = true;
  d.size = kMaxNotifyDatagram + 10;
  DatagramVerdict v = JudgeDatagram(d, ARun());
  EXPECT_EQ(v.decision.rejection, NotifyRejection::kOversized);
  EXPECT_NE(v.decision.detail.find(std::to_string(kMaxNotifyDatagram)), std::string::npos)
      << v.decision.detail;
}

TEST(JudgeDatagramTest, ASyntaxErrorIsRejectedWithTheParsersCause) {
  DatagramVerdict v = JudgeDatagram(Saying("READY=yes"), ARun());
  EXPECT_FALSE(v.ok());
  EXPECT_NE(v.decision.rejection, NotifyRejection::kNone);
  EXPECT_FALSE(v.decision.detail.empty());
  EXPECT_FALSE(v.new_main_pid);
}

TEST(JudgeDatagramTest, OnlyAMainPidNamingAnotherProcessIsLeftToCheck) {
  EXPECT_FALSE(JudgeDatagram(Saying("MAINPID=100"), ARun()).new_main_pid);  // The main already.
  DatagramVerdict v = JudgeDatagram(Saying("MAINPID=150\nREADY=1"), ARun());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v.new_main_pid, 150);
  EXPECT_TRUE(v.message.ready);
}

}  // namespace
}  // namespace vigil
