// End to end through a real sshd on 127.0.0.1: how much slower is a transfer when the key's
// forced command is rrsync (with the Landlock sandbox required, and with it off) than when it
// is a plain `command="rsync --server ..."`? All keys belong to the same account on the same
// sshd; runs rotate among the contenders, each into a fresh empty destination, and the medians
// are compared.
//
// Data lives on tmpfs (/dev/shm) so the disk does not decide the result: 20,000 small files
// (1-4 KiB, 100 directories) and one 1 GiB file, pushed (client -> DIR) and pulled (DIR -> client).
//
// Wall time on a shared machine is noisy, so the CPU time (user + system) of the client and of
// the whole server side (sshd's session, rrsync, rsync) is reported too.
//
// The snapshot case (issue 13): a push of the 20,000 files with 1 % of them changed into
// rrsync -snapshots, against a plain forced `rsync --server --link-dest=../latest` into a fresh
// directory, each against its own DIR that holds the previous version. On tmpfs that is the
// overlay level; `--only snapshot-btrfs` (also run with no --only, when mkfs.btrfs and loop
// devices are there) puts both DIRs on a btrfs loop image in /dev/shm, where rrsync runs the
// btrfs-subvolume level.
//
// Usage: rrsync_e2e_bench [--quick] [--runs N] [--only small|big|snapshot|snapshot-btrfs]
// (root: sshd switches users)
#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sshd_harness.h"

namespace rrsync::e2e {
namespace {

namespace fs = std::filesystem;

// Thrown, not exit()ed: the destructors stop sshd and remove the data on tmpfs.
[[noreturn]] void Fail(const std::string& what) { throw std::runtime_error(what); }

void WriteBytes(const std::string& path, const std::string& data, int repeat = 1) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Fail("open " + path + ": " + strerror(errno));
  for (int i = 0; i < repeat; ++i) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = write(fd, data.data() + done, data.size() - done);
      if (n <= 0) Fail("write " + path + ": " + strerror(errno));
      done += static_cast<size_t>(n);
    }
  }
  close(fd);
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&s[i], &v, std::min<size_t>(8, n - i));
  }
  return s;
}

// Number of regular files and their total size below `root`.
std::pair<size_t, uintmax_t> Count(const std::string& root) {
  size_t files = 0;
  uintmax_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) {
      ++files;
      bytes += e.file_size();
    }
  }
  return {files, bytes};
}

// CPU seconds (user + system) of this process's reaped children: the rsync clients.
double ChildrenCpu() {
  struct rusage u {};
  getrusage(RUSAGE_CHILDREN, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU seconds of the reaped descendants of sshd's listener (cutime + cstime in /proc/PID/stat):
// every finished session, i.e. sshd's session processes, rrsync and the rsync server.
double ReapedCpuOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::vector<std::string> f;
  std::string w;
  while (rest >> w) f.push_back(w);
  // After ")": state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17); f[0] is field 3.
  if (f.size() < 15) return 0;
  return (std::stod(f[13]) + std::stod(f[14])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The sshd listener: the harness's child named sshd.
pid_t FindSshdListener() {
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    if (stat.substr(open + 1, close - open - 1) != "sshd") continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == getpid()) return std::stoi(name);
  }
  return -1;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Contender {
  std::string name;
  std::string key;  // private key whose authorized_keys line decides what runs
};

class Bench {
 public:
  Bench(int runs, std::string only) : runs_(runs), only_(std::move(only)) {}

  void Setup() {
    std::string err;
    sshd_ = SshdHarness::Start({}, &err);
    if (!sshd_) Fail(err);
    root_ = RootAccount();
    if (!sshd_->AddClient(root_, &err)) Fail(err);
    rrsync_ = sshd_->InstallExecutable(RRSYNC_BINARY, &err);
    if (rrsync_.empty()) Fail(err);
    char tmpl[] = "/dev/shm/rrsync-e2e-bench.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) Fail("mkdtemp in /dev/shm");
    data_ = tmpl;
    chmod(data_.c_str(), 0755);

    std::mt19937_64 rng(42);
    std::fprintf(stderr, "making 20,000 small files%s in %s\n",
                 only_.starts_with("snapshot") || only_ == "small" ? "" : " and a 1 GiB file",
                 data_.c_str());
    for (int d = 0; d < 100; ++d) {
      const std::string dir = data_ + "/small/d" + std::to_string(d);
      fs::create_directories(dir);
      for (int f = 0; f < 200; ++f)
        WriteBytes(dir + "/f" + std::to_string(f), RandomBytes(rng, 1024 + rng() % 3072));
    }
    if (only_.starts_with("snapshot") || only_ == "small") return;  // no 1 GiB file for these
    fs::create_directories(data_ + "/big");
    // 1 MiB of random bytes 1024 times: a fresh transfer has no basis file, so rsync sends it
    // all as literal data whatever its content (no -z).
    WriteBytes(data_ + "/big/one-gib", RandomBytes(rng, 1 << 20), 1024);
  }

  ~Bench() {
    std::error_code ec;
    if (!btrfs_.empty()) Run(root_, {"umount", btrfs_});
    if (!data_.empty()) fs::remove_all(data_, ec);
  }

  // Runs every case; prints one table line each.
  void RunAll() {
    listener_ = FindSshdListener();
    if (listener_ < 0) Fail("cannot find the sshd listener");
    std::printf("%-24s %-24s %9s %7s %7s %10s %7s\n", "case", "contender", "median s", "min s",
                "ratio", "median CPU", "ratio");
    for (const char* set : {"small", "big"}) {
      if (!only_.empty() && only_ != set) continue;
      RunCase(set, /*push=*/true);
      RunCase(set, /*push=*/false);
    }
    if (only_.empty() || only_ == "snapshot") RunSnapshotCase(data_, "20,000 files 1% snapshot");
    if (only_.empty() || only_ == "snapshot-btrfs") {
      // A btrfs of its own on a loop image in tmpfs, so that the disk does not decide it either.
      const std::string image = data_ + "/btrfs.img", mnt = data_ + "/btrfs";
      fs::create_directories(mnt);
      CommandResult r = Run(root_, {"truncate", "-s", "2G", image});
      if (r.exit_code == 0) r = Run(root_, {"mkfs.btrfs", "-q", image});
      if (r.exit_code == 0) r = Run(root_, {"mount", "-t", "btrfs", "-o", "loop", image, mnt});
      if (r.exit_code != 0) {
        std::printf("%-24s skipped: no btrfs loop image here (%s)\n", "20,000 files 1% btrfs",
                    r.err.c_str());
        return;
      }
      btrfs_ = mnt;
      RunSnapshotCase(mnt, "20,000 files 1% btrfs");
    }
  }

 private:
  std::string NewKey(const std::string& forced_command) {
    std::string err;
    const std::string key = sshd_->dir() + "/key" + std::to_string(next_key_++);
    if (!GenerateKey(root_, key, &err)) Fail(err);
    std::string pub;
    FILE* f = fopen((key + ".pub").c_str(), "r");
    if (!f) Fail("read " + key + ".pub");
    char buf[4096];
    pub = fgets(buf, sizeof(buf), f) ? buf : "";
    fclose(f);
    while (!pub.empty() && (pub.back() == '\n' || pub.back() == '\r')) pub.pop_back();
    lines_.push_back(ForcedCommandLine(forced_command, pub));
    return key;
  }

  void Authorize() {
    std::string all, err;
    for (const auto& l : lines_) all += l + "\n";
    if (!sshd_->SetAuthorizedKeys(root_, all, &err)) Fail(err);
  }

  // Wall seconds; *cpu gets the CPU seconds of the client and of the whole server side.
  double TimeOne(const std::string& key, const std::vector<std::string>& args, double* cpu) {
    std::vector<std::string> argv{"rsync", "-e",
                                  "ssh -F " + sshd_->ConfigPath(root_) + " -i " + key};
    argv.insert(argv.end(), args.begin(), args.end());
    const double cpu_before = ChildrenCpu() + ReapedCpuOf(listener_);
    auto start = std::chrono::steady_clock::now();
    CommandResult r = Run(root_, argv, RunOptions{.env = {}, .cwd = "/", .timeout_seconds = 600});
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (r.exit_code != 0) Fail("transfer failed: " + r.Describe());
    // Let sshd reap the session (its CPU counts only once reaped).
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    *cpu = ChildrenCpu() + ReapedCpuOf(listener_) - cpu_before;
    return s;
  }

  void RunCase(const std::string& set, bool push) {
    const std::string src = data_ + "/" + set;
    const std::string dest = data_ + "/dest";
    const auto expected = Count(src);
    // The server's DIR: for a push an empty dir, for a pull the source itself.
    const std::string server_dir = push ? dest : src;
    lines_.clear();
    const std::string plain_command =
        push ? "rsync --server -logDtpre.iLsfxCIvu . " + dest + "/"
             : "rsync --server --sender -logDtpre.iLsfxCIvu . " + src + "/";
    std::vector<Contender> contenders = {
        {"rrsync -sandbox=require",
         NewKey(rrsync_ + " -sandbox=require " + (push ? "" : "-ro ") + server_dir)},
        // Without the sandbox: tells the sandbox's share from the rest of rrsync's.
        {"rrsync -sandbox=off",
         NewKey(rrsync_ + " -sandbox=off " + (push ? "" : "-ro ") + server_dir)},
        {"plain command=rsync", NewKey(plain_command)},
    };
    const size_t plain_index = contenders.size() - 1;
    Authorize();
    const std::string label = std::string(set == "small" ? "20,000 small files" : "1 GiB file") +
                              (push ? " push" : " pull");
    std::vector<std::vector<double>> times(contenders.size()), cpus(contenders.size());
    for (int run = 0; run < runs_ + 1; ++run) {  // run 0 warms caches and is dropped
      for (size_t c = 0; c < contenders.size(); ++c) {
        // Alternate the order so neither contender always runs on a warmer machine.
        const Contender& who = contenders[(c + static_cast<size_t>(run)) % contenders.size()];
        std::error_code ec;
        fs::remove_all(dest, ec);
        fs::create_directories(dest);
        std::vector<std::string> args =
            push ? std::vector<std::string>{"-a", src + "/", sshd_->Alias() + ":/"}
                 : std::vector<std::string>{"-a", sshd_->Alias() + ":/", dest + "/"};
        double cpu = 0;
        double s = TimeOne(who.key, args, &cpu);
        if (Count(dest) != expected)
          Fail(label + ": " + who.name + " transferred a different tree");
        if (run > 0) {
          times[(c + static_cast<size_t>(run)) % contenders.size()].push_back(s);
          cpus[(c + static_cast<size_t>(run)) % contenders.size()].push_back(cpu);
        }
      }
    }
    const double plain = Median(times[plain_index]);
    const double plain_cpu = Median(cpus[plain_index]);
    for (size_t c = 0; c < contenders.size(); ++c) {
      const double m = Median(times[c]);
      const double mc = Median(cpus[c]);
      std::printf("%-24s %-24s %9.3f %7.3f %6.3fx %10.3f %6.3fx\n", label.c_str(),
                  contenders[c].name.c_str(), m,
                  *std::min_element(times[c].begin(), times[c].end()), m / plain, mc,
                  mc / plain_cpu);
    }
    std::fflush(stdout);
    std::error_code ec;
    fs::remove_all(dest, ec);
  }

  // 20,000 files, 1 % changed before each run: rrsync -snapshots (the overlay level, and the
  // merge after rsync exits) against a plain forced rsync with --link-dest into a fresh dir.
  void RunSnapshotCase(const std::string& base, const char* label) {
    const std::string src = data_ + "/small";
    const std::string snap_dir = base + "/snapshots", plain_dir = base + "/plain";
    std::error_code ec;
    for (const std::string& d : {snap_dir, plain_dir}) {
      fs::remove_all(d, ec);
      fs::create_directories(d);
    }
    lines_.clear();
    std::vector<Contender> contenders = {
        {"rrsync -snapshots", NewKey(rrsync_ + " -snapshots " + snap_dir)},
        {"plain rsync link-dest",
         NewKey("rsync --server -logDtpre.iLsfxCIvu --delete --link-dest=../latest . " + plain_dir +
                "/next/")},
    };
    Authorize();
    const std::vector<std::string> args = {"-a", "--delete", src + "/", sshd_->Alias() + ":/"};
    // The previous version on both servers: a first push each (the plain one without a latest).
    double cpu = 0;
    auto plain_done = [&](int n) {
      const std::string name = "run" + std::to_string(n);
      fs::rename(plain_dir + "/next", plain_dir + "/" + name);
      fs::remove(plain_dir + "/latest", ec);
      fs::create_directory_symlink(name, plain_dir + "/latest");
    };
    TimeOne(contenders[0].key, args, &cpu);
    TimeOne(contenders[1].key, args, &cpu);
    plain_done(0);
    std::mt19937_64 rng(7);
    std::vector<std::vector<double>> times(2), cpus(2);
    for (int run = 0; run < runs_ + 1; ++run) {  // run 0 warms caches and is dropped
      // 1 %: 200 of the 20,000 files get new content (and size, and mtime).
      for (int i = 0; i < 200; ++i)
        WriteBytes(src + "/d" + std::to_string(rng() % 100) + "/f" + std::to_string(rng() % 200),
                   RandomBytes(rng, 1024 + rng() % 3072));
      for (size_t k = 0; k < 2; ++k) {
        const size_t c = (k + static_cast<size_t>(run)) % 2;
        double s = TimeOne(contenders[c].key, args, &cpu);
        if (c == 1) plain_done(run + 1);
        if (run > 0) {
          times[c].push_back(s);
          cpus[c].push_back(cpu);
        }
      }
    }
    const std::string latest = fs::read_symlink(snap_dir + "/latest").string();
    if (Count(snap_dir + "/" + latest) != Count(src) || Count(plain_dir + "/latest/") != Count(src))
      Fail("snapshot case: a contender's newest tree differs from the source");
    const double plain = Median(times[1]), plain_cpu = Median(cpus[1]);
    for (size_t c = 0; c < 2; ++c) {
      const double m = Median(times[c]), mc = Median(cpus[c]);
      std::printf(
          "%-24s %-24s %9.3f %7.3f %6.3fx %10.3f %6.3fx\n", label, contenders[c].name.c_str(), m,
          *std::min_element(times[c].begin(), times[c].end()), m / plain, mc, mc / plain_cpu);
    }
    std::fflush(stdout);
    fs::remove_all(snap_dir, ec);
    fs::remove_all(plain_dir, ec);
  }

  int runs_;
  std::string only_;  // "small" or "big": that data set alone
  std::unique_ptr<SshdHarness> sshd_;
  Account root_;
  std::string rrsync_;
  std::string data_;
  std::string btrfs_;  // the loop-mounted btrfs of the btrfs snapshot case, while mounted
  std::vector<std::string> lines_;
  int next_key_ = 0;
  pid_t listener_ = -1;
};

}  // namespace
}  // namespace rrsync::e2e

int main(int argc, char** argv) {
  int runs = 5;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      runs = 2;
    else if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
      runs = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc &&
             (std::strcmp(argv[i + 1], "small") == 0 || std::strcmp(argv[i + 1], "big") == 0 ||
              std::strcmp(argv[i + 1], "snapshot") == 0 ||
              std::strcmp(argv[i + 1], "snapshot-btrfs") == 0))
      only = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: rrsync_e2e_bench [--quick] [--runs N] "
                   "[--only small|big|snapshot|snapshot-btrfs]\n");
      return 2;
    }
  }
  try {
    rrsync::e2e::Bench bench(runs, only);
    bench.Setup();
    std::printf(
        "# %d timed runs per contender (plus one warm-up), alternating; ratio = median / plain;\n"
        "# CPU = user+system of the rsync client and of every server-side process\n",
        runs);
    bench.RunAll();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rrsync_e2e_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
