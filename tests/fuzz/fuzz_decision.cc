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

// The stand-in filesystem is the harness's, not code under test: no coverage feedback from it
// (its per-character comparisons were a quarter of the trace callbacks), so the fuzzer's
// attention and time go to the core.
#define RRSYNC_FUZZ_HARNESS __attribute__((no_sanitize("coverage")))

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
  RRSYNC_FUZZ_HARNESS
  FileKind LinkKind(const std::string& path) override {
    auto it = nodes_.find(Canon(path));
    return it == nodes_.end() ? FileKind::kMissing : it->second.kind;
  }
  RRSYNC_FUZZ_HARNESS
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
  RRSYNC_FUZZ_HARNESS
  bool ReadLink(const std::string& path, std::string* target) override {
    auto it = nodes_.find(Canon(path));
    if (it == nodes_.end() || it->second.kind != FileKind::kSymlink) return false;
    *target = it->second.target;
    return true;
  }
  RRSYNC_FUZZ_HARNESS
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
  RRSYNC_FUZZ_HARNESS
  static std::string Parent(const std::string& p) {
    size_t slash = p.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : p.substr(0, slash);
  }
  // Lexical only (no symlinks): folds "//", "/./" and a trailing "/". The decision asks about
  // one path per component it resolves, nearly always already canonical: that path is returned
  // as it is, without building it again piece by piece (which was a third of the harness's time).
  RRSYNC_FUZZ_HARNESS
  static std::string Canon(const std::string& path) {
    if (IsCanonical(path)) return path;
    std::string out;
    out.reserve(path.size());
    size_t pos = 0;
    while (pos <= path.size()) {
      size_t slash = path.find('/', pos);
      if (slash == std::string::npos) slash = path.size();
      std::string_view comp(path.data() + pos, slash - pos);
      pos = slash + 1;
      if (comp.empty() || comp == ".") continue;
      out += '/';
      out += comp;
    }
    return out.empty() ? "/" : out;
  }
  RRSYNC_FUZZ_HARNESS
  static bool IsCanonical(std::string_view path) {
    if (path == "/") return true;
    if (path.empty() || path[0] != '/' || path.back() == '/') return false;
    for (size_t i = 0; i + 1 < path.size(); ++i) {
      if (path[i] != '/') continue;
      if (path[i + 1] == '/') return false;
      if (path[i + 1] == '.' && (i + 2 == path.size() || path[i + 2] == '/')) return false;
    }
    return true;
  }
  std::map<std::string, Node> nodes_;
};

// The same shapes on disk, made once per fuzzing process and never changed (the decision only
// reads). DIR is TOP/x/dir, and every link that leaves DIR lands in TOP, which holds only this
// tree: "escape" points at TOP/outside (a stand-in for /etc) and "sub/up" (../../..) at TOP.
// Globbing through them therefore lists a handful of entries, not the machine's / or /tmp,
// whose size (and so the fuzzer's speed and findings) would vary from machine to machine.
std::string MakeRealTree() {
  char tmpl[] = "/tmp/rrsync-fuzz.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) abort();
  char real[PATH_MAX];
  if (realpath(tmpl, real) == nullptr) abort();
  const std::string top = real;
  const std::string d = top + "/x/dir";
  for (const std::string& dir : {top + "/x", d, d + "/sub", d + "/sub/deeper", top + "/outside"})
    mkdir(dir.c_str(), 0755);
  for (const std::string& f : {d + "/sub/file", d + "/sub/deeper/x y", d + "/a", d + "/.hidden",
                               top + "/outside/passwd"}) {
    int fd = open(f.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
  }
  if (symlink((top + "/outside").c_str(), (d + "/escape").c_str()) != 0 ||
      symlink("sub", (d + "/inside").c_str()) != 0 ||
      symlink("../../..", (d + "/sub/up").c_str()) != 0 ||
      symlink("loop2", (d + "/loop1").c_str()) != 0 ||
      symlink("loop1", (d + "/loop2").c_str()) != 0 ||
      symlink("nowhere/at/all", (d + "/dangling").c_str()) != 0) {
    abort();
  }
  static std::string* tree = new std::string(top);
  // libFuzzer ends with exit(): remove the tree then (a crash leaves it for the post-mortem).
  atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(*tree, ec);
  });
  return d;
}

// `detail` is a view, turned into text only when the contract is broken: building a copy of
// an 8 KiB input for every check of every word was most of the harness's time.
void Check(bool ok, const char* what, std::string_view detail) {
  if (ok) return;
  std::fprintf(stderr, "contract broken: %s: %s\n", what,
               EscapeUntrusted(std::string(detail)).c_str());
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
      Check(!err.empty(), "ParseCommandLine failed without a message", rest.substr(0, nul));
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
  for (const std::string& w : words) Check(!w.empty(), "empty word", rest);

  DecisionInput input;
  input.settings = &settings;
  input.dir = dir;
  input.command = std::string(rest);
  // Far below rrsync's bounds (a million entries examined, 100,000 paths), far above what the
  // trees hold (a dozen entries): a pattern that loops through their symlinks stops after a few
  // hundred entries, refused the same way ("glob matches too many paths"), where the defaults
  // let one input run for seconds. The defaults themselves: tests/hostile_input_test.cc.
  input.glob_limits.max_entries = 256;
  input.glob_limits.max_results = 64;
  Decision d = Decide(input, real ? static_cast<Filesystem&>(*real_fs) : *memory_fs);

  if (d.verdict == Verdict::kRefuse) {
    Check(!d.refusal.empty(), "empty refusal", rest);
    const std::string printed = EscapeUntrusted(d.refusal);
    for (unsigned char c : printed)
      Check(c >= 0x20 && c != 0x7f, "control byte in refusal", printed);
  } else if (d.verdict == Verdict::kRunRsync) {
    Check(!d.request.words.empty() && d.request.words[0].text == "--server",
          "argv does not start with --server", rest);
    if (dir != "/") {
      for (const ServerWord& w : d.request.words) {
        if (!w.pin) continue;
        const std::string& rp = w.pin->real_path;
        if (rp == dir || rp.starts_with(dir + "/")) continue;
        Check(false, "approved path leaves DIR", std::string(rest) + " -> " + rp);
      }
    }
  }
  return 0;
}
