// UserDb: users and groups read straight from /etc/passwd and /etc/group, without NSS.
//
// Why: the core is linked fully statically (static-pie, so it runs in any image, libc-less ones
// included), and a static glibc cannot load the NSS modules that getpwnam(), getgrnam(),
// getgrouplist() and initgroups() go through. Vigil needs users for one thing, a pool's `user:`
// and `group:`, and containers keep theirs in these two files; so it reads them itself. Users
// that only LDAP, SSSD or systemd-homed know are not seen: give such a pool a numeric uid/gid.
//
// Format (passwd(5), group(5)), as glibc's "files" source reads it: one entry per line,
// `name:password:uid:gid:gecos:home:shell` (7 fields) and `name:password:gid:member,member...`
// (4 fields); blank lines and lines whose first non-blank character is '#' are skipped; the
// first entry of a name or id wins. Ids are decimal, 0 to 4294967294 (-1 means "none").
//
// The files are untrusted input. A line that breaks the format (wrong field count, an id that is
// not a number or is out of range, an empty name, a line longer than kMaxLine) is an error
// naming the file, the line number and what is wrong when it is the entry asked for (its name
// matches); any other malformed line is skipped, as glibc does, and the first one skipped is
// named in a "no such user/group" error, since it may be why the name was not found. Each file is
// read as it is at the call: a missing file holds no entries; one that cannot be opened or read
// is an error naming it; anything but a regular file is refused (it is opened O_NONBLOCK, so a
// FIFO planted there can never block PID 1). Memory is bounded by kMaxLine whatever the file's
// size, and time by kMaxFile.
//
// Not thread-safe state: none; every call opens, reads and closes the file. Never throws.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/base/status.h"

namespace vigil {

struct UserEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;  // the primary group
};

struct GroupEntry {
  std::string name;
  gid_t gid = 0;
  std::vector<std::string> members;  // the supplementary members, as listed
};

// One line (without its newline) of each file. Pure; the error says what is wrong, without the
// file and line (the caller adds them).
StatusOr<UserEntry> ParsePasswdLine(std::string_view line);
StatusOr<GroupEntry> ParseGroupLine(std::string_view line);

class UserDb {
 public:
  // Longest line read; a longer one is malformed ("longer than ... bytes").
  static constexpr size_t kMaxLine = 1 << 20;
  // Largest file read; a larger one is refused.
  static constexpr size_t kMaxFile = 64 << 20;
  // setgroups() takes at most NGROUPS_MAX (65536 on Linux) groups.
  static constexpr size_t kMaxGroups = 65536;

  UserDb() : UserDb("/etc/passwd", "/etc/group") {}
  UserDb(std::string passwd_path, std::string group_path)
      : passwd_path_(std::move(passwd_path)), group_path_(std::move(group_path)) {}

  // The entry named `name`. Errors: "no such user 'x' in /etc/passwd" (with the first skipped
  // malformed line, if any), "no such user 'x': /etc/passwd does not exist", a malformed entry of
  // that name, a file that cannot be read.
  StatusOr<UserEntry> FindUser(std::string_view name) const;
  // The entry with `uid`, nullopt when there is none (a numeric uid needs no entry). Errors only
  // for a file that exists but cannot be read.
  StatusOr<std::optional<UserEntry>> FindUserById(uid_t uid) const;
  // As FindUser, in /etc/group.
  StatusOr<GroupEntry> FindGroup(std::string_view name) const;
  // The groups a process of `user` gets (what initgroups() would set): `primary` first, then
  // every group of /etc/group that lists `user` as a member, each gid once. A missing
  // /etc/group adds nothing; more than kMaxGroups is an error.
  StatusOr<std::vector<gid_t>> GroupsOf(std::string_view user, gid_t primary) const;

  const std::string& passwd_path() const { return passwd_path_; }
  const std::string& group_path() const { return group_path_; }

 private:
  std::string passwd_path_;
  std::string group_path_;
};

}  // namespace vigil
