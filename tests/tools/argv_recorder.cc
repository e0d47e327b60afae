// Stands in for rsync in tests: prints what rrsync handed it, then exits with status 0 (or
// with the status named by a file "exit-status" in its working directory).
//
// Output on stdout, one item a line:
//   cwd <working directory>
//   arg <argv[i]>           for every argument, argv[0] included
//   pin <argv[i]> -> <word> the same argument with each /proc/self/fd/N resolved to
//                           "<fd:TARGET>", so runs that pin different descriptor numbers compare
//                           equal; a deleted target's " (deleted)" suffix is kept.
//   fd <N> <target>         every open descriptor above 2 (what rsync inherited); only when a
//                           file "list-fds" exists in the working directory
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace {

#ifndef RECORDER_LIKE_OLD_RSYNC
// rrsync learns what its rsync supports by looking for option names in the binary: these make
// the stand-in look like rsync 3.5.0. The "old" build leaves them out, like rsync 3.2.
[[gnu::used]] const char kOptionNames[] = "--\0drop-D\0confine-root\0";
#endif

std::string ResolveFdSpellings(const std::string& word) {
  static const std::string kPrefix = "/proc/self/fd/";
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t at = word.find(kPrefix, pos);
    if (at == std::string::npos) break;
    out.append(word, pos, at - pos);
    size_t digits = at + kPrefix.size();
    size_t end = digits;
    while (end < word.size() && word[end] >= '0' && word[end] <= '9') ++end;
    if (end == digits) {
      out.append(kPrefix);
      pos = digits;
      continue;
    }
    std::string link = word.substr(at, end - at);
    char target[4096];
    ssize_t n = readlink(link.c_str(), target, sizeof(target) - 1);
    std::string resolved = n < 0 ? "unresolved" : std::string(target, static_cast<size_t>(n));
    // The unnamed placeholder's name carries the pid of whoever made it.
    size_t basis = resolved.find("/.rrsync-empty-basis.");
    if (basis != std::string::npos) {
      size_t tail = resolved.find(' ', basis);
      resolved = resolved.substr(0, basis) + "/.rrsync-empty-basis.PID" +
                 (tail == std::string::npos ? "" : resolved.substr(tail));
    }
    out += "<fd:" + resolved + ">";
    pos = end;
  }
  out.append(word, pos, std::string::npos);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  char cwd[4096];
  if (getcwd(cwd, sizeof(cwd)) == nullptr) return 98;
  std::printf("cwd %s\n", cwd);
  for (int i = 0; i < argc; ++i) std::printf("arg %s\n", argv[i]);
  for (int i = 0; i < argc; ++i) {
    std::string word = argv[i];
    if (word.find("/proc/self/fd/") != std::string::npos)
      std::printf("pin %s -> %s\n", argv[i], ResolveFdSpellings(word).c_str());
  }
  // Probed with fcntl and readlink, which work inside the Landlock sandbox (listing /proc does not).
  if (access("list-fds", F_OK) == 0) {
    for (int fd = 3; fd < 1024; ++fd) {
      if (fcntl(fd, F_GETFD) < 0) continue;
      char target[4096];
      ssize_t n = readlink(("/proc/self/fd/" + std::to_string(fd)).c_str(), target,
                           sizeof(target) - 1);
      std::printf("fd %d %s\n", fd,
                  n < 0 ? "?" : std::string(target, static_cast<size_t>(n)).c_str());
    }
  }
  std::ifstream status("exit-status");
  int code = 0;
  if (status >> code) return code;
  return 0;
}
