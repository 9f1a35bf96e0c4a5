#include "agent/sys/user_db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <functional>
#include <set>

#include "agent/base/quote.h"
#include "agent/base/unique_fd.h"

namespace vigil {
namespace {

constexpr size_t kPasswdFields = 7;
constexpr size_t kGroupFields = 4;
constexpr uint64_t kMaxId = 4294967294;  // 4294967295 is (uid_t)-1: "no id"

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    const size_t at = text.find(separator, start);
    if (at == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, at - start));
    start = at + 1;
  }
}

StatusOr<uint32_t> ParseId(std::string_view what, std::string_view text) {
  uint64_t value = 0;
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) return Status::Error(std::string(what) + " " + Quoted(text) + " is not a number");
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value > kMaxId) {
    return Status::Error(std::string(what) + " " + Quoted(text) + " is out of range (at most " +
                         std::to_string(kMaxId) + ")");
  }
  return static_cast<uint32_t>(value);
}

Status FieldCount(size_t got, size_t want, const char* layout) {
  return Status::Error("it has " + std::to_string(got) + " field" + (got == 1 ? "" : "s") +
                       ", not " + std::to_string(want) + " (" + layout + ")");
}

// The text before the first ':': the name a (possibly malformed) line is about.
std::string_view NameOf(std::string_view line) {
  return line.substr(0, line.find(':'));
}

// A line of a file as ScanLines hands it over: its number, its text after leading blanks (cut
// at kMaxLine), and whether it was longer than that.
struct Line {
  size_t number = 0;
  std::string_view text;
  bool too_long = false;
};

// Calls `visit` for every line that is not blank or a comment, until it returns false.
// `*missing` tells a file that does not exist (no lines, OK) from one read in full.
Status ScanLines(const std::string& path, bool* missing,
                 const std::function<bool(const Line&)>& visit) {
  *missing = false;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd) {
    if (errno == ENOENT) {
      *missing = true;
      return Status();
    }
    return Status::FromErrno("cannot open " + path, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno("cannot stat " + path, errno);
  if (!S_ISREG(st.st_mode)) return Status::Error(path + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > UserDb::kMaxFile) {
    return Status::Error(path + " is larger than " + std::to_string(UserDb::kMaxFile) + " bytes");
  }

  std::string line;
  bool too_long = false;
  size_t number = 0;
  size_t total = 0;
  bool stop = false;
  auto deliver = [&]() {
    ++number;
    std::string_view text(line);
    const size_t first = text.find_first_not_of(" \t");
    text = first == std::string_view::npos ? std::string_view() : text.substr(first);
    if (too_long || (!text.empty() && text.front() != '#')) {
      stop = !visit(Line{number, text, too_long});
    }
    line.clear();
    too_long = false;
  };
  char buffer[16384];
  while (!stop) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("cannot read " + path, errno);
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
    if (total > UserDb::kMaxFile) {
      return Status::Error(path + " is larger than " + std::to_string(UserDb::kMaxFile) + " bytes");
    }
    std::string_view chunk(buffer, static_cast<size_t>(n));
    while (!chunk.empty() && !stop) {
      const size_t newline = chunk.find('\n');
      const std::string_view piece = chunk.substr(0, newline);
      if (!too_long) {
        if (line.size() + piece.size() > UserDb::kMaxLine) {
          too_long = true;
          line.append(piece.substr(0, UserDb::kMaxLine - line.size()));
        } else {
          line.append(piece);
        }
      }
      if (newline == std::string_view::npos) break;
      deliver();
      chunk.remove_prefix(newline + 1);
    }
  }
  if (!stop && (!line.empty() || too_long)) deliver();  // a last line without its newline
  return Status();
}

std::string LongLine() {
  return "it is longer than " + std::to_string(UserDb::kMaxLine) + " bytes";
}

// What FindUser and FindGroup share: the first well-formed entry named `name`, or the error.
template <typename Entry>
StatusOr<Entry> FindByName(const std::string& path, std::string_view name, const char* kind,
                           StatusOr<Entry> (*parse)(std::string_view)) {
  bool missing = false;
  std::optional<Entry> found;
  Status malformed;           // this name's entry is malformed
  std::string first_skipped;  // the first other malformed line
  Status read = ScanLines(path, &missing, [&](const Line& line) {
    StatusOr<Entry> entry =
        line.too_long ? StatusOr<Entry>(Status::Error(LongLine())) : parse(line.text);
    if (entry.ok()) {
      if (entry->name != name) return true;
      found = std::move(*entry);
      return false;
    }
    const std::string where = path + ":" + std::to_string(line.number);
    if (NameOf(line.text) == name) {
      malformed = Status::Error(where + ": the entry for " + kind + " " + Quoted(name) +
                                " is malformed: " + entry.status().message());
      return false;
    }
    if (first_skipped.empty()) {
      first_skipped = "line " + std::to_string(line.number) +
                      " was skipped as malformed: " + entry.status().message();
    }
    return true;
  });
  if (!read.ok()) return read;
  if (!malformed.ok()) return malformed;
  if (found) return std::move(*found);
  if (missing) {
    return Status::Error("no such " + std::string(kind) + " " + Quoted(name) + ": " + path +
                         " does not exist (Vigil reads " + kind + "s from it, without NSS)");
  }
  return Status::Error("no such " + std::string(kind) + " " + Quoted(name) + " in " + path +
                       (first_skipped.empty() ? "" : " (" + first_skipped + ")"));
}

}  // namespace

StatusOr<UserEntry> ParsePasswdLine(std::string_view line) {
  const std::vector<std::string_view> fields = Split(line, ':');
  if (fields.size() != kPasswdFields) {
    return FieldCount(fields.size(), kPasswdFields, "name:password:uid:gid:gecos:home:shell");
  }
  if (fields[0].empty()) return Status::Error("the name is empty");
  StatusOr<uint32_t> uid = ParseId("uid", fields[2]);
  if (!uid.ok()) return uid.status();
  StatusOr<uint32_t> gid = ParseId("gid", fields[3]);
  if (!gid.ok()) return gid.status();
  return UserEntry{std::string(fields[0]), *uid, *gid};
}

StatusOr<GroupEntry> ParseGroupLine(std::string_view line) {
  const std::vector<std::string_view> fields = Split(line, ':');
  if (fields.size() != kGroupFields) {
    return FieldCount(fields.size(), kGroupFields, "name:password:gid:members");
  }
  if (fields[0].empty()) return Status::Error("the name is empty");
  StatusOr<uint32_t> gid = ParseId("gid", fields[2]);
  if (!gid.ok()) return gid.status();
  GroupEntry entry{std::string(fields[0]), *gid, {}};
  if (!fields[3].empty()) {
    for (std::string_view member : Split(fields[3], ',')) {
      if (!member.empty()) entry.members.emplace_back(member);
    }
  }
  return entry;
}

StatusOr<UserEntry> UserDb::FindUser(std::string_view name) const {
  return FindByName<UserEntry>(passwd_path_, name, "user", &ParsePasswdLine);
}

StatusOr<GroupEntry> UserDb::FindGroup(std::string_view name) const {
  return FindByName<GroupEntry>(group_path_, name, "group", &ParseGroupLine);
}

StatusOr<std::optional<UserEntry>> UserDb::FindUserById(uid_t uid) const {
  bool missing = false;
  std::optional<UserEntry> found;
  Status read = ScanLines(passwd_path_, &missing, [&](const Line& line) {
    if (line.too_long) return true;
    StatusOr<UserEntry> entry = ParsePasswdLine(line.text);
    if (!entry.ok() || entry->uid != uid) return true;  // malformed lines name no one: skipped
    found = std::move(*entry);
    return false;
  });
  if (!read.ok()) return read;
  return found;
}

StatusOr<std::vector<gid_t>> UserDb::GroupsOf(std::string_view user, gid_t primary) const {
  std::vector<gid_t> groups{primary};
  std::set<gid_t> seen{primary};
  bool missing = false;
  bool too_many = false;
  Status read = ScanLines(group_path_, &missing, [&](const Line& line) {
    if (line.too_long) return true;
    StatusOr<GroupEntry> entry = ParseGroupLine(line.text);
    // A malformed line is skipped: the user then lacks that group (fewer rights, never more).
    if (!entry.ok() || seen.count(entry->gid) != 0) return true;
    if (std::find(entry->members.begin(), entry->members.end(), user) == entry->members.end()) {
      return true;
    }
    if (groups.size() == kMaxGroups) {
      too_many = true;
      return false;
    }
    groups.push_back(entry->gid);
    seen.insert(entry->gid);
    return true;
  });
  if (!read.ok()) return read;
  if (too_many) {
    return Status::Error("user " + Quoted(user) + " is in more than " + std::to_string(kMaxGroups) +
                         " groups in " + group_path_ + " (the most a process can have)");
  }
  return groups;
}

}  // namespace vigil
