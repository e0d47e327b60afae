#include "sshd_harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <shadow.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "process_account.h"

namespace rrsync::e2e {
namespace {

constexpr char kSearchPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr char kSshd[] = "/usr/sbin/sshd";  // absolute: sshd re-executes itself by this path

std::string ErrnoText(const std::string& what) { return what + ": " + std::strerror(errno); }

std::string ReadAll(int fd) {
  std::string text;
  char buf[65536];
  off_t offset = 0;
  for (;;) {
    ssize_t n = pread(fd, buf, sizeof buf, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
    offset += n;
  }
  return text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `content` to `path` (replacing it) with `mode`, owned by uid:gid.
bool WriteFileAs(const std::string& path, const std::string& content, mode_t mode, uid_t uid,
                 gid_t gid, std::string* err) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd.valid()) {
    *err = ErrnoText("open " + path);
    return false;
  }
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *err = ErrnoText("write " + path);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  // fchmod as well: the umask may have cut the mode given to open.
  if (fchown(fd.get(), uid, gid) != 0 || fchmod(fd.get(), mode) != 0) {
    *err = ErrnoText("chown/chmod " + path);
    return false;
  }
  return true;
}

bool MakeDirAs(const std::string& path, mode_t mode, uid_t uid, gid_t gid, std::string* err) {
  if (mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    *err = ErrnoText("mkdir " + path);
    return false;
  }
  if (chown(path.c_str(), uid, gid) != 0 || chmod(path.c_str(), mode) != 0) {
    *err = ErrnoText("chown/chmod " + path);
    return false;
  }
  return true;
}

// sshd's StrictModes refuses an authorized_keys file if any directory above it is not owned by
// root (or the user) or is writable by group or others: a scratch dir under /tmp (mode 1777)
// fails. Checking here turns a silent "Authentication refused" in sshd's log into a clear error.
bool CheckStrictModesPath(const std::string& path, std::string* err) {
  std::filesystem::path p(path);
  for (;;) {
    struct stat st;
    if (stat(p.c_str(), &st) != 0) {
      *err = ErrnoText("stat " + p.string());
      return false;
    }
    if (st.st_uid != 0 || (st.st_mode & 022) != 0) {
      *err = "sshd's StrictModes would refuse keys under " + p.string() +
             ": it must be root-owned and not group- or world-writable";
      return false;
    }
    if (p == p.root_path() || !p.has_parent_path() || p.parent_path() == p) return true;
    p = p.parent_path();
  }
}

std::string FindProgram(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  std::stringstream dirs(kSearchPath);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/" + name;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;  // execve fails with ENOENT and the child says so
}

bool LookUpAccount(const std::string& name, Account* account) {
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
    return false;
  }
  account->name = pw.pw_name;
  account->uid = pw.pw_uid;
  account->gid = pw.pw_gid;
  account->home = pw.pw_dir;
  return true;
}

// The checks sshd makes before it lets a key-only account in, as clear errors.
bool CheckAccountUsable(const Account& account, std::string* err) {
  struct passwd* pw = getpwnam(account.name.c_str());
  if (pw == nullptr) {
    *err = "account " + account.name + " vanished";
    return false;
  }
  std::string shell = pw->pw_shell ? pw->pw_shell : "";
  if (shell.empty() || shell.find("nologin") != std::string::npos ||
      shell.find("false") != std::string::npos || access(shell.c_str(), X_OK) != 0) {
    *err = "account " + account.name + " has shell '" + shell +
           "': sshd runs the forced command through the login shell, so it needs a real one";
    return false;
  }
  struct spwd* sp = getspnam(account.name.c_str());
  if (sp != nullptr && sp->sp_pwdp != nullptr && sp->sp_pwdp[0] == '!') {
    *err = "account " + account.name +
           " is locked ('!' password): with UsePAM no sshd refuses it; run usermod -p '*' " +
           account.name;
    return false;
  }
  struct stat st;
  if (stat(account.home.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *err = "account " + account.name + " has no home directory " + account.home +
           " (sshd would print a warning into every session's stderr)";
    return false;
  }
  return true;
}

int FreeLoopbackPort(std::string* err) {
  UniqueFd sock(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!sock.valid()) {
    *err = ErrnoText("socket");
    return 0;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(sock.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    *err = ErrnoText("bind 127.0.0.1:0");
    return 0;
  }
  return ntohs(addr.sin_port);
}

// Everything the child needs, built before fork so the child only makes system calls.
struct PreparedChild {
  std::string path;
  std::vector<std::string> strings;  // owns what argv and envp point into
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::string cwd;
  bool switch_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  pid_t parent = 0;
};

PreparedChild Prepare(const Account& account, const std::vector<std::string>& argv,
                      const RunOptions& options) {
  PreparedChild c;
  c.path = FindProgram(argv.empty() ? std::string() : argv[0]);
  std::vector<std::string> env = {
      std::string("PATH=") + kSearchPath,
      "HOME=" + account.home,
      "USER=" + account.name,
      "LOGNAME=" + account.name,
      "LC_ALL=C",  // messages the tests compare are rsync's and ssh's English ones
  };
  // An extra entry replaces a base one of the same name (getenv would find the first).
  for (const std::string& extra : options.env) {
    const std::string name = extra.substr(0, extra.find('=') + 1);
    std::erase_if(env, [&](const std::string& e) { return e.starts_with(name); });
    env.push_back(extra);
  }
  c.strings.reserve(argv.size() + env.size());
  for (const std::string& a : argv) c.strings.push_back(a);
  for (const std::string& e : env) c.strings.push_back(e);
  for (size_t i = 0; i < argv.size(); ++i) c.argv.push_back(c.strings[i].data());
  c.argv.push_back(nullptr);
  for (size_t i = argv.size(); i < c.strings.size(); ++i) c.envp.push_back(c.strings[i].data());
  c.envp.push_back(nullptr);
  c.cwd = options.cwd.empty() ? account.home : options.cwd;
  c.switch_user = account.uid != geteuid();
  c.uid = account.uid;
  c.gid = account.gid;
  c.parent = getpid();
  return c;
}

[[noreturn]] void Fail(const char* what) {
  // write(2) only: this runs between fork and exec.
  const char prefix[] = "sshd_harness: child setup failed: ";
  (void)!write(2, prefix, sizeof prefix - 1);
  (void)!write(2, what, strlen(what));
  (void)!write(2, "\n", 1);
  _exit(127);
}

[[noreturn]] void ExecChild(const PreparedChild& c, int in, int out, int err) {
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(127);
  // Nothing of the test process leaks into the client: not a descriptor, not the terminal's
  // process group (so a timeout can kill ssh and everything it started at once).
  syscall(SYS_close_range, 3U, ~0U, 0U);
  if (setpgid(0, 0) != 0) Fail("setpgid");
  if (c.switch_user) {
    if (setgroups(1, &c.gid) != 0) Fail("setgroups");
    if (setgid(c.gid) != 0) Fail("setgid");
    if (setuid(c.uid) != 0) Fail("setuid");
  }
  // After the uid change, which clears it. If the test process dies, so does this one.
  if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) Fail("prctl");
  if (getppid() != c.parent) _exit(127);
  if (chdir(c.cwd.c_str()) != 0) Fail("chdir");
  execve(c.path.c_str(), c.argv.data(), c.envp.data());
  Fail("execve");
}

}  // namespace

Account RootAccount() {
  Account root;
  if (!LookUpAccount("root", &root)) root = Account{"root", 0, 0, "/root"};
  return root;
}

std::string TestAccountName() { return test_accounts::ProcessAccountName(kTestAccountName); }

bool EnsureTestAccount(Account* account, std::string* err) {
  std::string name = TestAccountName();
  if (!test_accounts::EnsureProcessAccount(
          kTestAccountName,
          {"--system", "--user-group", "--create-home", "--home-dir", "/var/lib/" + name, "--shell",
           "/bin/sh", "--password", "*", "--comment", "rrsync end-to-end tests"},
          /*remove_home=*/true, err)) {
    return false;
  }
  if (!LookUpAccount(name, account)) {
    *err = "account " + name + " vanished";
    return false;
  }
  return CheckAccountUsable(*account, err);
}

std::string CommandResult::Describe() const {
  std::string text = "exit " + std::to_string(exit_code);
  if (timed_out) text += " (timed out, killed)";
  text += "\n--- stdout ---\n" + out;
  if (!out.empty() && out.back() != '\n') text += '\n';
  text += "--- stderr ---\n" + err;
  return text;
}

std::unique_ptr<BackgroundProcess> BackgroundProcess::Start(const Account& account,
                                                            const std::vector<std::string>& argv,
                                                            const RunOptions& options,
                                                            std::string* err) {
  if (argv.empty()) {
    *err = "empty argv";
    return nullptr;
  }
  std::unique_ptr<BackgroundProcess> p(new BackgroundProcess);
  // Memory files, not pipes: nobody has to drain them while the process runs, so a chatty
  // process cannot block on a full pipe.
  p->out_.Reset(memfd_create("stdout", MFD_CLOEXEC));
  p->err_.Reset(memfd_create("stderr", MFD_CLOEXEC));
  UniqueFd devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!p->out_.valid() || !p->err_.valid() || !devnull.valid()) {
    *err = ErrnoText("memfd_create or open /dev/null");
    return nullptr;
  }
  PreparedChild child = Prepare(account, argv, options);
  pid_t pid = fork();
  if (pid < 0) {
    *err = ErrnoText("fork");
    return nullptr;
  }
  if (pid == 0) ExecChild(child, devnull.get(), p->out_.get(), p->err_.get());
  p->pid_ = pid;
  // A zombie can still be opened, so there is no race with an early exit.
  p->pidfd_.Reset(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (!p->pidfd_.valid()) {
    *err = ErrnoText("pidfd_open");
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    p->reaped_ = true;
    return nullptr;
  }
  return p;
}

BackgroundProcess::~BackgroundProcess() {
  if (pid_ > 0) Stop();
}

bool BackgroundProcess::WaitFor(int timeout_ms) {
  if (reaped_) return true;
  pollfd pfd{pidfd_.get(), POLLIN, 0};
  int n;
  do {
    n = poll(&pfd, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return false;
  while (waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  return true;
}

bool BackgroundProcess::Running() { return !WaitFor(0); }

CommandResult BackgroundProcess::Stop() {
  CommandResult result;
  if (!reaped_ && !WaitFor(0)) {
    // The whole group: ssh started by rsync, the session helpers of an agent.
    kill(-pid_, SIGTERM);
    if (!WaitFor(5000)) {
      kill(-pid_, SIGKILL);
      WaitFor(-1);
    }
  }
  if (WIFEXITED(status_)) {
    result.exit_code = WEXITSTATUS(status_);
  } else if (WIFSIGNALED(status_)) {
    result.exit_code = 128 + WTERMSIG(status_);
  }
  result.out = ReadAll(out_.get());
  result.err = ReadAll(err_.get());
  return result;
}

CommandResult Run(const Account& account, const std::vector<std::string>& argv,
                  const RunOptions& options) {
  std::string err;
  std::unique_ptr<BackgroundProcess> p = BackgroundProcess::Start(account, argv, options, &err);
  if (!p) {
    CommandResult failed;
    failed.err = "could not start " + (argv.empty() ? std::string() : argv[0]) + ": " + err;
    return failed;
  }
  bool done = p->WaitFor(options.timeout_seconds * 1000);
  CommandResult result = p->Stop();
  result.timed_out = !done;
  return result;
}

bool GenerateKey(const Account& owner, const std::string& path, std::string* err) {
  CommandResult r = Run(owner, {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                owner.name + "@rrsync-e2e", "-f", path});
  if (r.exit_code != 0) {
    *err = "ssh-keygen " + path + ": " + r.Describe();
    return false;
  }
  return true;
}

std::string ForcedCommandLine(const std::string& command, const std::string& public_key) {
  std::string quoted;
  for (char c : command) {
    if (c == '"') quoted += '\\';
    quoted += c;
  }
  return "restrict,command=\"" + quoted + "\" " + public_key;
}

std::unique_ptr<SshdHarness> SshdHarness::Start(const Options& options, std::string* err) {
  if (geteuid() != 0) {
    *err = "the sshd harness needs root: sshd has to switch to the logged-in account";
    return nullptr;
  }
  // sshd's privilege separation chroots its pre-authentication child into /run/sshd and will not
  // start without it. Debian creates it at boot (tmpfiles.d); a container may not have it.
  if (mkdir("/run/sshd", 0755) != 0 && errno != EEXIST) {
    *err = ErrnoText("mkdir /run/sshd");
    return nullptr;
  }
  // Not under /tmp: StrictModes checks every directory above authorized_keys (see
  // CheckStrictModesPath), and /run is root-owned 0755 on Debian.
  char tmpl[] = "/run/rrsync-e2e.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    *err = ErrnoText("mkdtemp /run/rrsync-e2e.XXXXXX");
    return nullptr;
  }
  std::unique_ptr<SshdHarness> h(new SshdHarness);
  h->dir_ = tmpl;  // from here on the destructor removes it
  // 0755 so that the unprivileged account can reach its trees and the installed rrsync.
  if (chmod(tmpl, 0755) != 0) {
    *err = ErrnoText("chmod " + h->dir_);
    return nullptr;
  }
  if (!CheckStrictModesPath(h->dir_, err)) return nullptr;
  for (const char* sub : {"sshd", "authorized_keys", "clients", "bin"}) {
    if (!MakeDirAs(h->dir_ + "/" + sub, 0755, 0, 0, err)) return nullptr;
  }
  if (!GenerateKey(RootAccount(), h->dir_ + "/sshd/host_ed25519_key", err)) return nullptr;
  if (!h->StartSshd(options, err)) return nullptr;
  return h;
}

bool SshdHarness::StartSshd(const Options& options, std::string* err) {
  const std::string config_path = dir_ + "/sshd/sshd_config";
  const std::string log_path = dir_ + "/sshd/sshd.log";
  // Another process can take the free port before sshd binds it: then pick another.
  for (int attempt = 0; attempt < 5; ++attempt) {
    port_ = FreeLoopbackPort(err);
    if (port_ == 0) return false;
    std::ostringstream config;
    config
        << "# A throwaway sshd for one rrsync end-to-end test; see tests/e2e/sshd_harness.h.\n"
        << "ListenAddress 127.0.0.1\n"
        << "AddressFamily inet\n"
        << "Port " << port_ << "\n"
        << "HostKey " << dir_ << "/sshd/host_ed25519_key\n"
        << "PidFile " << dir_ << "/sshd/sshd.pid\n"
        << "AuthorizedKeysFile " << dir_ << "/authorized_keys/%u\n"
        << "# The published setting: root logs in only with a key that carries command=\"...\".\n"
        << "PermitRootLogin forced-commands-only\n"
        << "PubkeyAuthentication yes\n"
        << "PasswordAuthentication no\n"
        << "KbdInteractiveAuthentication no\n"
        << "HostbasedAuthentication no\n"
        << "UsePAM no\n"
        << "StrictModes yes\n"
        << "# Debian's defaults, so that it is the key's `restrict` that turns these off.\n"
        << "AllowAgentForwarding yes\n"
        << "AllowTcpForwarding yes\n"
        << "X11Forwarding yes\n"
        << "PermitTTY yes\n"
        << "AcceptEnv LANG LC_*\n"
        << "Subsystem sftp /usr/lib/openssh/sftp-server\n"
        << "PrintMotd no\n"
        << "PrintLastLog no\n"
        << "MaxStartups 64\n"
        << "# Only for speed (a third off each connection on a busy machine).\n"
        << "KexAlgorithms curve25519-sha256\n"
        << "# Root's login shell is bash, and Debian's bash sources /etc/bash.bashrc and\n"
        << "# ~/.bashrc for a command sshd runs unless it is nested (SHLVL >= 1): the host's\n"
        << "# dotfiles, not rrsync, then cost each root session 0.3-6 s (pyenv init on the test\n"
        << "# machines) and may print noise. /bin/sh (the test accounts') reads neither.\n"
        << "SetEnv SHLVL=1\n"
        << "LogLevel DEBUG1\n"
        << options.extra_config << "\n";
    if (!WriteFileAs(config_path, config.str(), 0644, 0, 0, err)) return false;
    if (!WriteFileAs(log_path, "", 0644, 0, 0, err)) return false;
    sshd_ =
        BackgroundProcess::Start(RootAccount(), {kSshd, "-D", "-f", config_path, "-E", log_path},
                                 RunOptions{.env = {}, .cwd = "/", .timeout_seconds = 0}, err);
    if (!sshd_) return false;
    const std::string ready = "Server listening on 127.0.0.1 port " + std::to_string(port_);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    while (std::chrono::steady_clock::now() < deadline) {
      std::string log = ReadFile(log_path);
      if (log.find(ready) != std::string::npos) return true;
      if (!sshd_->Running()) {
        CommandResult r = sshd_->Stop();
        sshd_.reset();
        if (log.find("Address already in use") != std::string::npos) break;  // next port
        *err = "sshd exited at start: " + r.Describe() + "--- sshd log ---\n" + log;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (sshd_) {
      *err = "sshd did not start listening within 15 s:\n" + ReadFile(log_path);
      return false;
    }
  }
  *err = "sshd found no free port in 5 attempts";
  return false;
}

void SshdHarness::StopSshd() {
  if (!sshd_) return;
  // Each connection is served by a child that calls setsid(), so it is not in sshd's process
  // group: find the listener's children and end them with it, or a hung session would outlive
  // the test.
  const pid_t listener = sshd_->pid();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = ReadFile(entry.path() / "stat");
    size_t close = stat.rfind(')');  // the command name may itself hold spaces and parentheses
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == listener) kill(std::stoi(name), SIGTERM);
  }
  sshd_->Stop();
  sshd_.reset();
}

SshdHarness::~SshdHarness() {
  StopSshd();
  if (dir_.empty()) return;
  const char* keep = getenv("RRSYNC_E2E_KEEP");
  if (keep != nullptr && *keep != '\0' && std::string(keep) != "0") {
    fprintf(stderr, "sshd_harness: kept %s (RRSYNC_E2E_KEEP)\n", dir_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
  if (ec)
    fprintf(stderr, "sshd_harness: could not remove %s: %s\n", dir_.c_str(), ec.message().c_str());
}

std::string SshdHarness::SshdLog() const { return ReadFile(dir_ + "/sshd/sshd.log"); }

std::string SshdHarness::AuthorizedKeysPath(const Account& account) const {
  return dir_ + "/authorized_keys/" + account.name;
}

std::string SshdHarness::InstallExecutable(const std::string& source, std::string* err) {
  const std::string target = dir_ + "/bin/" + std::filesystem::path(source).filename().string();
  std::error_code ec;
  std::filesystem::copy_file(source, target, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) {
    *err = "copy " + source + " to " + target + ": " + ec.message();
    return "";
  }
  if (chown(target.c_str(), 0, 0) != 0 || chmod(target.c_str(), 0755) != 0) {
    *err = ErrnoText("chown/chmod " + target);
    return "";
  }
  return target;
}

std::string SshdHarness::ConfigPath(const Account& account) const {
  return dir_ + "/clients/" + account.name + "/ssh_config";
}

std::string SshdHarness::KeyPath(const Account& account) const {
  return dir_ + "/clients/" + account.name + "/id_ed25519";
}

std::string SshdHarness::PublicKey(const Account& account) const {
  std::string key = ReadFile(KeyPath(account) + ".pub");
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  return key;
}

bool SshdHarness::AddClient(const Account& account, std::string* err) {
  const std::string client_dir = dir_ + "/clients/" + account.name;
  if (!MakeDirAs(client_dir, 0700, account.uid, account.gid, err)) return false;
  if (!GenerateKey(account, KeyPath(account), err)) return false;
  // Pin this sshd's host key: the alias checks it strictly, as a real setup should.
  std::istringstream host_key(ReadFile(dir_ + "/sshd/host_ed25519_key.pub"));
  std::string type, blob;
  host_key >> type >> blob;
  const std::string known_hosts = client_dir + "/known_hosts";
  if (!WriteFileAs(known_hosts,
                   "[127.0.0.1]:" + std::to_string(port_) + " " + type + " " + blob + "\n", 0644,
                   account.uid, account.gid, err)) {
    return false;
  }
  // README.md (Setup) shows these lines; keep the two in step.
  std::ostringstream config;
  config << "Host " << Alias() << "\n"
         << "    HostName 127.0.0.1\n"
         << "    Port " << port_ << "\n"
         << "    User " << account.name << "\n"
         << "    IdentityFile " << KeyPath(account) << "\n"
         << "    IdentitiesOnly yes\n"
         << "    ForwardAgent no\n"
         << "    BatchMode yes\n"
         << "    ControlMaster no\n"
         << "    ControlPath none\n"
         << "    StrictHostKeyChecking yes\n"
         << "    UserKnownHostsFile " << known_hosts << "\n";
  return WriteFileAs(ConfigPath(account), config.str(), 0644, account.uid, account.gid, err);
}

bool SshdHarness::SetAuthorizedKeys(const Account& account, const std::string& lines,
                                    std::string* err) {
  std::string content = lines;
  if (!content.empty() && content.back() != '\n') content += '\n';
  // Written aside and renamed: sshd reads the file at each connection and must never see half.
  const std::string path = AuthorizedKeysPath(account);
  if (!WriteFileAs(path + ".new", content, 0644, 0, 0, err)) return false;
  if (rename((path + ".new").c_str(), path.c_str()) != 0) {
    *err = ErrnoText("rename " + path);
    return false;
  }
  return true;
}

bool SshdHarness::AuthorizeRrsync(const Account& account, const std::string& rrsync,
                                  const std::vector<std::string>& flags, const std::string& dir,
                                  std::string* err) {
  std::string command = rrsync;
  for (const std::string& flag : flags) command += " " + flag;
  command += " " + dir;
  return SetAuthorizedKeys(account, ForcedCommandLine(command, PublicKey(account)), err);
}

CommandResult SshdHarness::Ssh(const Account& account, const std::vector<std::string>& args,
                               const RunOptions& options) const {
  std::vector<std::string> argv = {"ssh", "-F", ConfigPath(account)};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(account, argv, options);
}

CommandResult SshdHarness::Rsync(const Account& account, const std::vector<std::string>& args,
                                 const RunOptions& options) const {
  std::vector<std::string> argv = {"rsync", "-e", "ssh -F " + ConfigPath(account)};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(account, argv, options);
}

std::string DiffTrees(const std::map<std::string, std::string>& want,
                      const std::map<std::string, std::string>& got) {
  std::string diff;
  for (const auto& [path, desc] : want) {
    auto it = got.find(path);
    if (it == got.end()) {
      diff += "missing " + path + " (" + desc + ")\n";
    } else if (it->second != desc) {
      diff += "changed " + path + ": want " + desc + ", got " + it->second + "\n";
    }
  }
  for (const auto& [path, desc] : got) {
    if (want.count(path) == 0) diff += "unexpected " + path + " (" + desc + ")\n";
  }
  return diff;
}

}  // namespace rrsync::e2e
