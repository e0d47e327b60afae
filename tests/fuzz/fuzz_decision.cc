// libFuzzer target over everything a client's bytes reach before rsync runs: splitting the
// command into words, rrsync's own command line, and the decision with its path resolution and
// globbing. Built and run by scripts/fuzz (clang, ASan, UBSan).
//
// Input layout:
//   byte 0           rrsync flags, one bit each (see kFlag*); bit 7 chooses the real filesystem
//   [ARGS '\0']      optional: if the rest holds a NUL, what precedes it is rrsync's own argument
//                    list (words split on spaces) for ParseCommandLine; DIR is always replaced
//   COMMAND          SSH_ORIGINAL_COMMAND
// A seed is therefore one flag byte followed by a command the real rsync client sends.
//
// Besides crashes, leaks and hangs, the target aborts when the decision breaks its contract:
// an approved path whose real path leaves DIR, an argv that does not start with --server, an
// empty refusal, or a refusal that still holds a control character once escaped for printing.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "command_line.h"
#include "decision.h"
#include "escape.h"
#include "filesystem.h"
#include "server_command.h"

namespace rrsync {
namespace {

constexpr uint8_t kFlagReadOnly = 1 << 0;
constexpr uint8_t kFlagWriteOnly = 1 << 1;
constexpr uint8_t kFlagMunge = 1 << 2;
constexpr uint8_t kFlagAbsolute = 1 << 3;
constexpr uint8_t kFlagNoDelete = 1 << 4;
constexpr uint8_t kFlagNoOverwrite = 1 << 5;
constexpr uint8_t kFlagDirIsRoot = 1 << 6;  // DIR "/" (in-memory filesystem only)
constexpr uint8_t kFlagRealFilesystem = 1 << 7;

constexpr char kMemoryDir[] = "/srv/backup";

// A small tree with the shapes that matter to path checks: nested dirs, files, a symlink out of
// DIR, one inside it, a relative one climbing out, a loop, and a dangling one.
class MemoryFilesystem : public Filesystem {
 public:
  MemoryFilesystem() {
    Dir("/");
    Dir("/srv");
    Dir("/etc");
    File("/etc/passwd");
    Dir(kMemoryDir);
    const std::string d = kMemoryDir;
    Dir(d + "/sub");
    Dir(d + "/sub/deeper");
    File(d + "/sub/file");
    File(d + "/sub/deeper/x y");
    File(d + "/a");
    File(d + "/.hidden");
    Link(d + "/escape", "/etc");
    Link(d + "/inside", "sub");
    Link(d + "/sub/up", "../../..");
    Link(d + "/loop1", "loop2");
    Link(d + "/loop2", "loop1");
    Link(d + "/dangling", "nowhere/at/all");
  }
  FileKind LinkKind(const std::string& path) override {
    auto it = nodes_.find(Canon(path));
    return it == nodes_.end() ? FileKind::kMissing : it->second.kind;
  }
  bool IsDirectory(const std::string& path) override {
    std::string p = Canon(path);
    for (int hops = 0; hops < 40; ++hops) {
      auto it = nodes_.find(p);
      if (it == nodes_.end()) return false;
      if (it->second.kind != FileKind::kSymlink) return it->second.kind == FileKind::kDirectory;
      const std::string& t = it->second.target;
      p = Canon(t[0] == '/' ? t : Parent(p) + "/" + t);
    }
    return false;
  }
  bool ReadLink(const std::string& path, std::string* target) override {
    auto it = nodes_.find(Canon(path));
    if (it == nodes_.end() || it->second.kind != FileKind::kSymlink) return false;
    *target = it->second.target;
    return true;
  }
  bool ListDirectory(const std::string& path, bool dirs_only,
                     std::vector<std::string>* names) override {
    if (!IsDirectory(path)) return false;
    std::string p = Canon(path);
    // Listing follows a symlinked directory only by its canonical name here: good enough for
    // the checks, which never trust a listing anyway.
    const std::string prefix = p == "/" ? "/" : p + "/";
    for (auto it = nodes_.lower_bound(prefix); it != nodes_.end() && it->first.starts_with(prefix);
         ++it) {
      std::string rest = it->first.substr(prefix.size());
      if (rest.empty() || rest.find('/') != std::string::npos) continue;
      if (!dirs_only || IsDirectory(it->first)) names->push_back(rest);
    }
    return true;
  }

 private:
  struct Node {
    FileKind kind;
    std::string target;
  };
  void Dir(const std::string& p) { nodes_[p] = {FileKind::kDirectory, ""}; }
  void File(const std::string& p) { nodes_[p] = {FileKind::kRegular, ""}; }
  void Link(const std::string& p, const std::string& t) { nodes_[p] = {FileKind::kSymlink, t}; }
  static std::string Parent(const std::string& p) {
    size_t slash = p.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : p.substr(0, slash);
  }
  // Lexical only (no symlinks): folds "//", "/./" and a trailing "/".
  static std::string Canon(const std::string& path) {
    std::string out;
    size_t pos = 0;
    while (pos <= path.size()) {
      size_t slash = path.find('/', pos);
      if (slash == std::string::npos) slash = path.size();
      std::string comp = path.substr(pos, slash - pos);
      pos = slash + 1;
      if (comp.empty() || comp == ".") continue;
      out += "/" + comp;
    }
    return out.empty() ? "/" : out;
  }
  std::map<std::string, Node> nodes_;
};

// The same shapes on disk, made once per fuzzing process.
std::string MakeRealTree() {
  char tmpl[] = "/tmp/rrsync-fuzz.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) abort();
  char real[PATH_MAX];
  if (realpath(tmpl, real) == nullptr) abort();
  const std::string d = real;
  mkdir((d + "/sub").c_str(), 0755);
  mkdir((d + "/sub/deeper").c_str(), 0755);
  for (const char* f : {"/sub/file", "/sub/deeper/x y", "/a", "/.hidden"}) {
    int fd = open((d + f).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
  }
  if (symlink("/etc", (d + "/escape").c_str()) != 0 || symlink("sub", (d + "/inside").c_str()) != 0 ||
      symlink("../../..", (d + "/sub/up").c_str()) != 0 ||
      symlink("loop2", (d + "/loop1").c_str()) != 0 ||
      symlink("loop1", (d + "/loop2").c_str()) != 0 ||
      symlink("nowhere/at/all", (d + "/dangling").c_str()) != 0) {
    abort();
  }
  static std::string* tree = new std::string(d);
  // libFuzzer ends with exit(): remove the tree then (a crash leaves it for the post-mortem).
  atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(*tree, ec);
  });
  return d;
}

void Check(bool ok, const char* what, const std::string& detail) {
  if (ok) return;
  std::fprintf(stderr, "contract broken: %s: %s\n", what, EscapeUntrusted(detail).c_str());
  abort();
}

std::vector<std::string> SplitOnSpaces(std::string_view text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t space = text.find(' ', pos);
    if (space == std::string_view::npos) space = text.size();
    if (space > pos) out.emplace_back(text.substr(pos, space - pos));
    pos = space + 1;
  }
  return out;
}

}  // namespace
}  // namespace rrsync

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rrsync;
  if (size < 1) return 0;
  static MemoryFilesystem* memory_fs = new MemoryFilesystem;
  static const std::string* real_dir = new std::string(MakeRealTree());
  static RealFilesystem* real_fs = new RealFilesystem;

  const uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);

  // scripts/fuzz --memory-only: while a known hang on the real filesystem is being fixed, the
  // rest can still be fuzzed.
  static const bool memory_only = getenv("RRSYNC_FUZZ_MEMORY_ONLY") != nullptr;
  const bool real = (flags & kFlagRealFilesystem) && !memory_only;
  const std::string dir = real ? *real_dir : (flags & kFlagDirIsRoot) ? "/" : kMemoryDir;
  Settings settings;
  size_t nul = rest.find('\0');
  if (nul != std::string_view::npos) {
    // rrsync's own command line: must never crash, whatever the admin wrote.
    std::vector<std::string> args = SplitOnSpaces(rest.substr(0, nul));
    std::string err;
    Settings parsed;
    if (ParseCommandLine(args, &parsed, &err)) {
      settings = parsed;
    } else {
      Check(!err.empty(), "ParseCommandLine failed without a message",
            std::string(rest.substr(0, nul)));
    }
    rest.remove_prefix(nul + 1);
  } else {
    if (flags & kFlagReadOnly) settings.access = Access::kReadOnly;
    if ((flags & kFlagWriteOnly) && !(flags & kFlagReadOnly)) settings.access = Access::kWriteOnly;
    settings.munge_links = flags & kFlagMunge;
    settings.absolute = flags & kFlagAbsolute;
    settings.no_delete = flags & kFlagNoDelete;
    settings.no_overwrite = flags & kFlagNoOverwrite;
    if (settings.access == Access::kReadOnly) settings.no_delete = settings.no_lock = true;
  }
  settings.dir = dir;

  // The splitter on its own (the decision splits only the part after "rsync --server").
  std::vector<std::string> words = SplitServerWords(rest);
  for (const std::string& w : words) Check(!w.empty(), "empty word", std::string(rest));

  DecisionInput input;
  input.settings = &settings;
  input.dir = dir;
  input.command = std::string(rest);
  Decision d = Decide(input, real ? static_cast<Filesystem&>(*real_fs) : *memory_fs);

  if (d.verdict == Verdict::kRefuse) {
    Check(!d.refusal.empty(), "empty refusal", std::string(rest));
    const std::string printed = EscapeUntrusted(d.refusal);
    for (unsigned char c : printed) Check(c >= 0x20 && c != 0x7f, "control byte in refusal", printed);
  } else if (d.verdict == Verdict::kRunRsync) {
    Check(!d.request.words.empty() && d.request.words[0].text == "--server",
          "argv does not start with --server", std::string(rest));
    if (dir != "/") {
      for (const ServerWord& w : d.request.words) {
        if (!w.pin) continue;
        const std::string& rp = w.pin->real_path;
        Check(rp == dir || rp.starts_with(dir + "/"), "approved path leaves DIR",
              std::string(rest) + " -> " + rp);
      }
    }
  }
  return 0;
}
