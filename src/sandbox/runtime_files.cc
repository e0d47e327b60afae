#include "runtime_files.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <string_view>

#include "landlock_ruleset.h"
#include "unique_fd.h"

namespace rrsync {
namespace {

using namespace landlock;

// Reads exactly `size` bytes at `offset`.
bool ReadAt(int fd, void* buf, size_t size, uint64_t offset) {
  char* p = static_cast<char*>(buf);
  while (size > 0) {
    ssize_t n = pread(fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return true;
}

// An ELF file opened once. Reads within its first 4 KiB, where the headers nearly always lie,
// are served from one pread, so walking rsync's libraries costs few system calls per file.
class ElfReader {
 public:
  bool Open(const std::string& path) {
    fd_.Reset(open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd_.valid()) return false;
    ssize_t n;
    do {
      n = pread(fd_.get(), head_, sizeof(head_), 0);
    } while (n < 0 && errno == EINTR);
    head_size_ = n > 0 ? static_cast<size_t>(n) : 0;
    return true;
  }
  bool Read(void* buf, size_t size, uint64_t offset) const {
    if (offset < head_size_ && size <= head_size_ - offset) {
      memcpy(buf, head_ + offset, size);
      return true;
    }
    return ReadAt(fd_.get(), buf, size, offset);
  }
  int fd() const { return fd_.get(); }
  size_t head_size() const { return head_size_; }
  const unsigned char* head() const { return head_; }

 private:
  UniqueFd fd_;
  unsigned char head_[4096];
  size_t head_size_ = 0;
};

// What the loader needs from one ELF file.
struct ElfDependencies {
  unsigned char elf_class = 0;
  uint16_t machine = 0;
  std::string interp;                // PT_INTERP; empty for a static binary or a library
  std::vector<std::string> needed;   // DT_NEEDED
  std::vector<std::string> runpath;  // DT_RUNPATH, or DT_RPATH when there is no RUNPATH
};

std::string Basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::vector<std::string> SplitColons(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(':', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

// Parses the program and dynamic headers with pread, never mapping or running the file. A
// malformed file is an error: we would not know what rsync will load.
template <typename Ehdr, typename Phdr, typename Dyn>
bool ReadElfDependenciesOfClass(const ElfReader& elf, const std::string& path,
                                ElfDependencies* deps, std::string* err) {
  auto fail = [&](const char* what) {
    *err = "Failed to read the ELF headers of \"" + path + "\": " + what;
    return false;
  };
  Ehdr eh;
  if (!elf.Read(&eh, sizeof(eh), 0)) return fail("short file");
  deps->machine = eh.e_machine;
  if (eh.e_phentsize != sizeof(Phdr) || eh.e_phnum == 0 || eh.e_phnum > 1024)
    return fail("bad program header table");
  std::vector<Phdr> phdrs(eh.e_phnum);
  if (!elf.Read(phdrs.data(), sizeof(Phdr) * phdrs.size(), eh.e_phoff))
    return fail("short program header table");

  const Phdr* dynamic = nullptr;
  for (const Phdr& ph : phdrs) {
    if (ph.p_type == PT_INTERP) {
      if (ph.p_filesz == 0 || ph.p_filesz > PATH_MAX) return fail("bad PT_INTERP");
      std::string interp(ph.p_filesz, '\0');
      if (!elf.Read(interp.data(), interp.size(), ph.p_offset)) return fail("short PT_INTERP");
      interp.resize(strnlen(interp.c_str(), interp.size()));
      deps->interp = interp;
    } else if (ph.p_type == PT_DYNAMIC) {
      dynamic = &ph;
    }
  }
  if (dynamic == nullptr) return true;  // static: nothing else to load

  if (dynamic->p_filesz > (1 << 20)) return fail("bad PT_DYNAMIC");
  std::vector<Dyn> dyns(dynamic->p_filesz / sizeof(Dyn));
  if (!elf.Read(dyns.data(), dyns.size() * sizeof(Dyn), dynamic->p_offset))
    return fail("short PT_DYNAMIC");
  uint64_t strtab_addr = 0;
  uint64_t strtab_size = 0;
  std::vector<uint64_t> needed, runpath, rpath;
  for (const Dyn& d : dyns) {
    if (d.d_tag == DT_NULL) break;
    switch (d.d_tag) {
      case DT_STRTAB:
        strtab_addr = d.d_un.d_ptr;
        break;
      case DT_STRSZ:
        strtab_size = d.d_un.d_val;
        break;
      case DT_NEEDED:
        needed.push_back(d.d_un.d_val);
        break;
      case DT_RUNPATH:
        runpath.push_back(d.d_un.d_val);
        break;
      case DT_RPATH:
        rpath.push_back(d.d_un.d_val);
        break;
      default:
        break;
    }
  }
  if (needed.empty() && runpath.empty() && rpath.empty()) return true;
  if (strtab_size == 0 || strtab_size > (16 << 20)) return fail("bad DT_STRSZ");
  // DT_STRTAB is a virtual address: find the file offset through the PT_LOAD that holds it.
  uint64_t strtab_offset = 0;
  bool mapped = false;
  for (const Phdr& ph : phdrs) {
    if (ph.p_type == PT_LOAD && strtab_addr >= ph.p_vaddr &&
        strtab_addr + strtab_size <= ph.p_vaddr + ph.p_filesz) {
      strtab_offset = strtab_addr - ph.p_vaddr + ph.p_offset;
      mapped = true;
      break;
    }
  }
  if (!mapped) return fail("DT_STRTAB outside every PT_LOAD");
  // The names lie at the offsets DT_NEEDED and DT_RUNPATH give, usually near the table's start
  // (libcrypto's table is 110 KiB): read up to the last of them plus room for one name, and the
  // whole table only when a name runs past that.
  uint64_t last = 0;
  for (const std::vector<uint64_t>* list : {&needed, &runpath, &rpath})
    for (uint64_t at : *list) last = std::max(last, at);
  std::string strtab(std::min<uint64_t>(strtab_size, last + PATH_MAX), '\0');
  if (!elf.Read(strtab.data(), strtab.size(), strtab_offset)) return fail("short DT_STRTAB");
  if (strtab.size() < strtab_size) {
    bool complete = true;
    for (const std::vector<uint64_t>* list : {&needed, &runpath, &rpath})
      for (uint64_t at : *list)
        complete = complete && at < strtab.size() &&
                   memchr(strtab.data() + at, '\0', strtab.size() - at) != nullptr;
    if (!complete) {
      strtab.assign(strtab_size, '\0');
      if (!elf.Read(strtab.data(), strtab.size(), strtab_offset)) return fail("short DT_STRTAB");
    }
  }
  auto str = [&](uint64_t at, std::string* out) {
    if (at >= strtab.size()) return false;
    *out = std::string(strtab.c_str() + at, strnlen(strtab.c_str() + at, strtab.size() - at));
    return true;
  };
  for (uint64_t at : needed) {
    std::string name;
    if (!str(at, &name) || name.empty()) return fail("bad DT_NEEDED");
    deps->needed.push_back(name);
  }
  // The loader ignores DT_RPATH when DT_RUNPATH is present.
  for (uint64_t at : runpath.empty() ? rpath : runpath) {
    std::string text;
    if (!str(at, &text)) return fail("bad DT_RUNPATH");
    for (std::string& dir : SplitColons(text)) {
      // $ORIGIN is the directory of the object itself; other tokens ($LIB, $PLATFORM) are
      // rare enough to refuse rather than guess.
      for (const char* token : {"$ORIGIN", "${ORIGIN}"}) {
        size_t at_token = dir.find(token);
        if (at_token != std::string::npos) dir.replace(at_token, strlen(token), Dirname(path));
      }
      if (dir.find('$') != std::string::npos) return fail("unsupported token in DT_RUNPATH");
      deps->runpath.push_back(dir);
    }
  }
  return true;
}

// Parses an opened ELF file; `path` names it in messages and stands for $ORIGIN.
bool ParseElf(const ElfReader& elf, const std::string& path, ElfDependencies* deps,
              std::string* err) {
  const unsigned char* ident = elf.head();
  if (elf.head_size() < EI_NIDENT || memcmp(ident, ELFMAG, SELFMAG) != 0) {
    *err = "Failed to read the ELF headers of \"" + path + "\": not an ELF file";
    return false;
  }
  const unsigned char native_data =
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
      ELFDATA2LSB;
#else
      ELFDATA2MSB;
#endif
  if (ident[EI_DATA] != native_data) {
    *err = "Failed to read the ELF headers of \"" + path + "\": foreign byte order";
    return false;
  }
  deps->elf_class = ident[EI_CLASS];
  if (ident[EI_CLASS] == ELFCLASS64)
    return ReadElfDependenciesOfClass<Elf64_Ehdr, Elf64_Phdr, Elf64_Dyn>(elf, path, deps, err);
  if (ident[EI_CLASS] == ELFCLASS32)
    return ReadElfDependenciesOfClass<Elf32_Ehdr, Elf32_Phdr, Elf32_Dyn>(elf, path, deps, err);
  *err = "Failed to read the ELF headers of \"" + path + "\": unknown ELF class";
  return false;
}

bool ReadElfDependencies(const std::string& path, ElfDependencies* deps, std::string* err) {
  ElfReader elf;
  if (!elf.Open(path)) {
    *err = "Failed to open \"" + path + "\": " + std::strerror(errno);
    return false;
  }
  return ParseElf(elf, path, deps, err);
}

// glibc's library index. Only the soname -> path pairs matter; whether an entry fits this
// binary is decided by reading the candidate's own ELF header.
constexpr char kLdSoCache[] = "/etc/ld.so.cache";
constexpr char kUrandom[] = "/dev/urandom";
constexpr char kDevNull[] = "/dev/null";
constexpr char kLocaleDir[] = "/usr/lib/locale";
constexpr char kDefaultRsync[] = "/usr/bin/rsync";

// The soname -> path index glibc's loader consults, read once and searched in place.
class LdSoCache {
 public:
  void Load() {
    UniqueFd fd(open(kLdSoCache, O_RDONLY | O_CLOEXEC));
    struct stat st;
    if (fd.get() < 0 || fstat(fd.get(), &st) != 0 || st.st_size <= 0 || st.st_size > (64 << 20))
      return;
    data_.assign(static_cast<size_t>(st.st_size), '\0');
    if (!ReadAt(fd.get(), data_.data(), data_.size(), 0)) {
      data_.clear();
      return;
    }

    static const char kOldMagic[] = "ld.so-1.7.0";
    static const char kNewMagic[] = "glibc-ld.so.cache1.1";
    size_t start = 0;
    // The old format (if present) comes first: 12 bytes of magic, a count, 12-byte entries;
    // the new format follows, 8-aligned.
    if (data_.compare(0, sizeof(kOldMagic) - 1, kOldMagic) == 0 && data_.size() >= 16) {
      uint32_t old_count;
      memcpy(&old_count, data_.data() + 12, 4);
      start = 16 + static_cast<size_t>(old_count) * 12;
      start = (start + 7) & ~static_cast<size_t>(7);
    }
    if (start + kHeader > data_.size() ||
        data_.compare(start, sizeof(kNewMagic) - 1, kNewMagic) != 0)
      return;
    memcpy(&count_, data_.data() + start + 20, 4);
    start_ = start;
  }

  // Calls fn(path) for every entry named `name`, in the cache's order.
  template <typename Fn>
  void ForEachPath(std::string_view name, Fn fn) const {
    if (count_ == 0) return;
    const char* base = data_.data() + start_;  // new-format string offsets count from here
    const size_t limit = data_.size() - start_;
    for (uint32_t i = 0; i < count_; ++i) {
      size_t at = kHeader + static_cast<size_t>(i) * kEntry;
      if (at + kEntry > limit) break;
      uint32_t key, value;
      memcpy(&key, base + at + 4, 4);
      memcpy(&value, base + at + 8, 4);
      if (key >= limit || value >= limit) continue;
      if (std::string_view(base + key, strnlen(base + key, limit - key)) != name) continue;
      fn(std::string(base + value, strnlen(base + value, limit - value)));
    }
  }

 private:
  static constexpr size_t kHeader = 48;
  static constexpr size_t kEntry = 24;
  std::string data_;
  size_t start_ = 0;
  uint32_t count_ = 0;
};

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  if (realpath(path.c_str(), buf) == nullptr) return "";
  return buf;
}

bool ElfMatches(const ElfReader& elf, const ElfDependencies& binary) {
  const unsigned char* ident = elf.head();
  if (elf.head_size() < EI_NIDENT + 4 || memcmp(ident, ELFMAG, SELFMAG) != 0) return false;
  uint16_t machine;
  memcpy(&machine, ident + EI_NIDENT + 2, 2);  // e_machine follows e_type in both classes
  return ident[EI_CLASS] == binary.elf_class && machine == binary.machine;
}

// The real path of the file open as `fd`: one readlink of its /proc/self/fd entry, which names
// what was opened with every symlink resolved; realpath(3) (a readlink per component) where
// /proc is missing.
std::string FdRealPath(int fd, const std::string& path) {
  char buf[PATH_MAX];
  ssize_t n = readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), buf, sizeof(buf));
  if (n > 0 && static_cast<size_t>(n) < sizeof(buf) && buf[0] == '/') {
    std::string real(buf, static_cast<size_t>(n));
    if (!real.ends_with(" (deleted)")) return real;
  }
  return RealPath(path);
}

// Walks the libraries the loader will map for `binary_path`, the way it searches: RUNPATH,
// ld.so.cache, then the default directories. Adds each library directory once.
bool AddLibraryRules(const std::string& binary_path, const ElfDependencies& binary,
                     RuntimeFiles* runtime, std::string* err) {
  std::vector<SandboxRule>* rules = &runtime->rules;
  LdSoCache cache;
  cache.Load();
  // The loader's built-in default directories, needed only for a library the cache lacks: the
  // one the program interpreter lives in (the multiarch directory on Debian), then glibc's
  // generic defaults.
  std::vector<std::string> defaults;
  auto default_dirs = [&]() -> const std::vector<std::string>& {
    if (defaults.empty()) {
      if (!binary.interp.empty()) defaults.push_back(Dirname(RealPath(binary.interp)));
      for (const char* dir : {"/lib64", "/usr/lib64", "/lib", "/usr/lib"}) defaults.push_back(dir);
    }
    return defaults;
  };

  std::set<std::string> seen_libs;
  std::set<std::string> dirs;
  std::vector<std::string> dir_order;
  struct Pending {
    std::string name;
    std::vector<std::string> runpath;
    std::string wanted_by;
  };
  std::vector<Pending> pending;
  for (const std::string& name : binary.needed)
    pending.push_back({name, binary.runpath, binary_path});
  while (!pending.empty()) {
    Pending lib = pending.back();
    pending.pop_back();
    if (!seen_libs.insert(lib.name).second) continue;
    std::vector<std::string> found;
    bool parsed = true;
    // A candidate of the binary's class and machine counts; each new one is parsed at once,
    // from the descriptor that identified it, for the libraries it needs in turn.
    auto consider = [&](const std::string& candidate) {
      ElfReader elf;
      if (!parsed || !elf.Open(candidate) || !ElfMatches(elf, binary)) return;
      std::string real = FdRealPath(elf.fd(), candidate);
      if (real.empty() || std::find(found.begin(), found.end(), real) != found.end()) return;
      found.push_back(real);
      // The name the loader opens, which may pass through symlinks (/lib -> usr/lib).
      if (std::find(runtime->library_names.begin(), runtime->library_names.end(), candidate) ==
          runtime->library_names.end())
        runtime->library_names.push_back(candidate);
      std::string dir = Dirname(real);
      if (dirs.insert(dir).second) dir_order.push_back(dir);
      ElfDependencies deps;
      if (!ParseElf(elf, real, &deps, err)) {
        parsed = false;
        return;
      }
      for (const std::string& name : deps.needed) pending.push_back({name, deps.runpath, real});
    };
    if (lib.name.find('/') != std::string::npos) {
      consider(lib.name);
    } else {
      for (const std::string& dir : lib.runpath) consider(dir + "/" + lib.name);
      // Every cache entry for the name counts: the loader may pick a glibc-hwcaps variant.
      cache.ForEachPath(lib.name, consider);
      if (found.empty())
        for (const std::string& dir : default_dirs()) {
          consider(dir + "/" + lib.name);
          if (!found.empty()) break;
        }
    }
    if (!parsed) return false;
    if (found.empty()) {
      *err = "Failed to find the shared library \"" + lib.name + "\" that \"" + lib.wanted_by +
             "\" needs";
      return false;
    }
  }
  for (const std::string& dir : dir_order) {
    if (std::find(runtime->library_dirs.begin(), runtime->library_dirs.end(), dir) !=
        runtime->library_dirs.end())
      continue;  // another program (a wrapper's) needs it too
    rules->push_back({dir, kFsReadFile,
                      "shared libraries of the rsync binary: opened by the loader, then mapped"});
    runtime->library_dirs.push_back(dir);
  }
  return true;
}

bool IsFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Adds `rule`, or widens the rule already there for its path.
void AddRule(std::vector<SandboxRule>* rules, const SandboxRule& rule) {
  for (SandboxRule& r : *rules)
    if (r.path == rule.path) {
      r.access |= rule.access;
      return;
    }
  rules->push_back(rule);
}

// The interpreter a "#!" script names: the kernel reads the first line (at most 255 bytes after
// the "#!") and takes its first word. Sets *script false for any other file.
bool ReadShebang(const std::string& path, bool* script, std::string* interpreter,
                 std::string* argument, std::string* err) {
  *script = false;
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  char head[258];
  ssize_t n = fd.valid() ? pread(fd.get(), head, sizeof(head) - 1, 0) : -1;
  if (n < 0) {
    *err = "Failed to open \"" + path + "\": " + std::strerror(errno);
    return false;
  }
  if (n < 2 || head[0] != '#' || head[1] != '!') return true;
  *script = true;
  std::string_view line(head + 2, static_cast<size_t>(n) - 2);
  line = line.substr(0, line.find('\n'));
  const size_t begin = line.find_first_not_of(" \t");
  if (begin == std::string_view::npos) {
    *err = "Failed to use the #! script \"" + path + "\": it names no interpreter";
    return false;
  }
  line.remove_prefix(begin);
  *interpreter = std::string(line.substr(0, line.find_first_of(" \t")));
  // The kernel hands the rest of the line to the interpreter as one argument.
  line.remove_prefix(std::min(line.size(), interpreter->size()));
  const size_t arg_begin = line.find_first_not_of(" \t\r");
  const size_t arg_end = line.find_last_not_of(" \t\r");
  argument->clear();
  if (arg_begin != std::string_view::npos)
    *argument = std::string(line.substr(arg_begin, arg_end + 1 - arg_begin));
  if ((*interpreter)[0] != '/') {
    *err = "Failed to use the #! script \"" + path + "\": its interpreter \"" + *interpreter +
           "\" is not an absolute path";
    return false;
  }
  return true;
}

// For "#!/usr/bin/env NAME": env looks NAME up in PATH, which the sandbox cannot follow. The
// program must be declared (-wrapper-exec) by its absolute path; a declared program of that
// name is then what env finds in the view, where nothing undeclared exists. Returns false,
// saying what to declare, when none is.
bool CheckEnvProgram(const std::string& script, const std::string& interpreter,
                     const std::string& argument, const std::vector<std::string>& declared,
                     std::string* err) {
  if (Basename(interpreter) != "env" || argument.empty()) return true;
  std::string name = argument.substr(0, argument.find_first_of(" \t"));
  if (name == "-S" || name.starts_with("--split-string")) {
    const std::string rest =
        argument.substr(std::min(argument.size(), argument.find_first_of(" \t")));
    const size_t begin = rest.find_first_not_of(" \t");
    name = begin == std::string::npos ? "" : rest.substr(begin, rest.find_first_of(" \t", begin) -
                                                                    begin);
  }
  if (name.empty() || name[0] == '-' || name.find('=') != std::string::npos) return true;
  if (name.find('/') != std::string::npos) return true;  // a path: env execs it as it is
  for (const std::string& program : declared)
    if (Basename(program) == name) return true;
  std::string where;
  for (const char* dir : {"/usr/local/bin", "/usr/bin", "/bin"}) {
    const std::string candidate = std::string(dir) + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) {
      where = candidate;
      break;
    }
  }
  *err = "Failed to use the #! script \"" + script + "\": it runs \"" + interpreter + " " +
         name + "\", which looks " + name + " up in PATH; declare the program with -wrapper-exec=" +
         (where.empty() ? "/ABSOLUTE/PATH/" + name : where) +
         " (and what it reads outside DIR with -wrapper-read=)";
  return false;
}

// The kernel follows at most this many "#!" interpreters before the ELF one (binfmt_script).
constexpr int kMaxScriptDepth = 4;

// What running `path` needs: for a "#!" script, the script and its interpreter chain; for an ELF
// binary, the binary, its PT_INTERP and its libraries. Sets *script for a script.
bool AddExecutable(const std::string& path, int depth, const std::vector<std::string>& declared,
                   RuntimeFiles* runtime, bool* script, std::string* err) {
  std::string interpreter;
  std::string argument;
  if (!ReadShebang(path, script, &interpreter, &argument, err)) return false;
  if (*script) {
    if (!CheckEnvProgram(path, interpreter, argument, declared, err)) return false;
    if (depth == kMaxScriptDepth) {
      *err = "Failed to use the #! script \"" + path + "\": too many levels of interpreters";
      return false;
    }
    AddRule(&runtime->rules, {path, kFsExecute | kFsReadFile,
                              "a #! script: exec'd, then read by its interpreter"});
    bool nested;
    return AddExecutable(interpreter, depth + 1, declared, runtime, &nested, err);
  }
  ElfDependencies binary;
  if (!ReadElfDependencies(path, &binary, err)) {
    if (err->ends_with(": not an ELF file"))
      *err += " (the rsync to run must be an ELF binary or a #! script)";
    return false;
  }
  AddRule(&runtime->rules, {path, kFsExecute | kFsReadFile,
                            depth == 0 ? "the rsync binary: execve needs execute and read"
                                       : "a program the rsync wrapper runs"});
  if (!binary.interp.empty())
    AddRule(&runtime->rules,
            {binary.interp, kFsExecute | kFsReadFile,
             "the program interpreter (PT_INTERP): the kernel opens it as an exec"});
  if (!AddLibraryRules(path, binary, runtime, err)) return false;
  if (!binary.needed.empty() && IsFile(kLdSoCache))
    AddRule(&runtime->rules, {kLdSoCache, kFsReadFile, "the loader's library index"});
  return true;
}

}  // namespace

bool FindRuntimeFiles(const std::string& rsync_path, const std::vector<std::string>& wrapper_exec,
                      RuntimeFiles* runtime, std::string* err) {
  *runtime = RuntimeFiles();
  std::vector<SandboxRule>& rules = runtime->rules;
  bool script = false;
  if (!AddExecutable(rsync_path, 0, wrapper_exec, runtime, &script, err)) return false;
  // What a wrapper may exec is declared (-wrapper-exec); the default rsync always may be.
  std::vector<std::string> programs = wrapper_exec;
  if (script && IsFile(kDefaultRsync)) programs.push_back(kDefaultRsync);
  for (const std::string& program : programs) {
    bool nested;
    if (!AddExecutable(program, 1, wrapper_exec, runtime, &nested, err)) return false;
  }

  // Name mapping: rsync sends and maps user and group names; without these it silently falls
  // back to numeric ids. Only the files backend: NSS modules (sss, ldap) need sockets and
  // more files, and rsync then maps numerically.
  for (const char* file : {"/etc/nsswitch.conf", "/etc/passwd", "/etc/group"})
    if (IsFile(file))
      rules.push_back({file, kFsReadFile, "user and group name mapping (NSS files backend)"});
  struct stat st;
  // The locales rsync may load its LC_CTYPE from (rsync's environment gets C.UTF-8 where it
  // had none, as upstream's Python gives it): --iconv=. and the printing of names that are not
  // ASCII depend on it. Locale data of installed packages, public. The gconv modules that
  // iconv loads lie in libc's directory, already granted.
  if (stat(kLocaleDir, &st) == 0 && S_ISDIR(st.st_mode)) {
    rules.push_back({kLocaleDir, kFsReadFile, "locale data: LC_CTYPE for --iconv and names"});
    runtime->library_dirs.push_back(kLocaleDir);
  }
  // A receiving rsync opens /dev/urandom before it creates each temporary file (seen with
  // strace); denied, it falls back quietly to a weaker source of names. Reading random bytes
  // discloses nothing; ioctls on the device stay denied (IOCTL_DEV is handled, never granted).
  if (stat(kUrandom, &st) == 0 && S_ISCHR(st.st_mode))
    rules.push_back({kUrandom, kFsReadFile, "random temporary file names"});
  for (const SandboxRule& rule : rules)
    if (std::find(runtime->library_dirs.begin(), runtime->library_dirs.end(), rule.path) ==
        runtime->library_dirs.end())
      runtime->files.push_back(rule.path);
  // glibc and rsync open /dev/null on some error paths; the mount view has it, Landlock does not
  // grant it (measured: not needed), so it only exists.
  if (stat(kDevNull, &st) == 0 && S_ISCHR(st.st_mode)) runtime->files.push_back(kDevNull);
  return true;
}

}  // namespace rrsync
