// rrsync the way admins run it: the forced command of a `restrict,command="rrsync ..."` line in
// authorized_keys of a real sshd on 127.0.0.1, reached with the real rsync and ssh clients through
// the ssh config alias README.md (Setup) teaches. Every test runs as root (the published case) and
// as an unprivileged account, and checks exit codes, messages and the trees on both sides.
//
// The escape tests give DIR a parent that holds a secret file, readable by the account, and check
// after every attempt that the secret's text reached neither the client's output nor its tree,
// and that nothing outside DIR was created, changed or removed: only rrsync stands in the way.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "sshd_harness.h"

namespace rrsync::e2e {
namespace {

namespace fs = std::filesystem;

#ifdef RRSYNC_E2E_REFERENCE
// Running against upstream's Python rrsync (see cmake/parts/e2e.cmake).
constexpr bool kReference = true;
#else
constexpr bool kReference = false;
#endif

enum class Who { kRoot, kUser };

std::string WhoName(const ::testing::TestParamInfo<Who>& info) {
  return info.param == Who::kRoot ? "AsRoot" : "AsUnprivilegedUser";
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    // ssh ends its own messages with "\r\n", whatever the terminal.
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

bool HasLine(const std::string& text, const std::string& line) {
  for (const std::string& l : Lines(text)) {
    if (l == line) return true;
  }
  return false;
}

bool HasLineStartingWith(const std::string& text, const std::string& prefix) {
  for (const std::string& l : Lines(text)) {
    if (l.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A digest of a file's bytes, in 1 MiB chunks so a large sparse file does not sit in memory.
std::string ContentDigest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> buf(1 << 20);
  size_t digest = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    std::string_view chunk(buf.data(), static_cast<size_t>(in.gcount()));
    digest = digest * 1000003 ^ std::hash<std::string_view>()(chunk);
  }
  return std::to_string(digest);
}

// Every entry under `root` (root itself as "."), keyed by relative path, described by type,
// mode, owners (if `owners`), size, mtime and content digest or link target: equal snapshots,
// equal trees. Relative paths in `skip` are left out, with everything below them.
std::map<std::string, std::string> Snapshot(const std::string& root, bool owners = true,
                                            const std::set<std::string>& skip = {}) {
  std::map<std::string, std::string> tree;
  std::function<void(const std::string&)> walk = [&](const std::string& rel) {
    const std::string path = rel == "." ? root : root + "/" + rel;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      tree[rel] = "unreadable";
      return;
    }
    std::ostringstream d;
    d << std::oct << (st.st_mode & 07777) << std::dec;
    if (owners) d << " " << st.st_uid << ":" << st.st_gid;
    if (S_ISREG(st.st_mode)) {
      d << " file " << st.st_size << " mtime " << st.st_mtim.tv_sec << " " << ContentDigest(path);
    } else if (S_ISLNK(st.st_mode)) {
      d << " link -> " << fs::read_symlink(path).string();
    } else if (S_ISDIR(st.st_mode)) {
      d << " dir mtime " << st.st_mtim.tv_sec;
    } else {
      d << " special";
    }
    tree[rel] = d.str();
    if (!S_ISDIR(st.st_mode)) return;
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path)) {
      names.push_back(entry.path().filename().string());
    }
    for (const std::string& name : names) {
      const std::string child = rel == "." ? name : rel + "/" + name;
      if (skip.count(child) == 0) walk(child);
    }
  };
  walk(".");
  return tree;
}

// A port nobody listens on right now (bind to 0, read it, close).
int FreeLoopbackPort() {
  UniqueFd sock(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (!sock.valid() || bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(sock.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return 0;
  }
  return ntohs(addr.sin_port);
}

// Connects to 127.0.0.1:port and appends what arrives within 5 s to *received. False if nothing
// listens there.
bool ReadFromLoopbackPort(int port, std::string* received) {
  UniqueFd sock(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (!sock.valid() || connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return false;
  }
  timeval timeout{5, 0};
  setsockopt(sock.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  char buf[256];
  ssize_t n;
  while ((n = read(sock.get(), buf, sizeof buf)) > 0) received->append(buf, static_cast<size_t>(n));
  return true;
}

RunOptions WithEnv(const std::string& variable) {
  RunOptions options;
  options.env.push_back(variable);
  return options;
}

std::string RandomToken() {
  std::random_device rd;
  std::ostringstream token;
  token << std::hex << rd() << rd();
  return token.str();
}

// Each test gets its own sshd, scratch directory and trees:
//   DIR/../secret    the secret, outside DIR (DIR's parent is the account's too)
//   DIR              what rrsync serves: srv/data
//   dest/, src/      the client's side of a pull and of a push
class E2eTest : public ::testing::TestWithParam<Who> {
 protected:
  void SetUp() override {
    std::string err;
    sshd_ = SshdHarness::Start({}, &err);
    ASSERT_TRUE(sshd_) << err;
    if (GetParam() == Who::kUser) {
      ASSERT_TRUE(EnsureTestAccount(&account_, &err)) << err;
    } else {
      account_ = RootAccount();
    }
    ASSERT_TRUE(sshd_->AddClient(account_, &err)) << err;
    // Copied into the scratch dir so the unprivileged account can surely run it.
    rrsync_ = sshd_->InstallExecutable(RRSYNC_UNDER_TEST, &err);
    ASSERT_FALSE(rrsync_.empty()) << err;

    root_ = sshd_->dir();
    srv_ = root_ + "/srv";
    data_ = srv_ + "/data";
    dest_ = root_ + "/dest";
    src_ = root_ + "/src";
    for (const std::string& d : {srv_, data_, dest_, src_}) MakeDir(d);
    token_ = "TOP-SECRET-" + RandomToken();
    // Also a valid filter file: a server that reads it as rules stops sending canary.txt.
    Put(srv_ + "/secret", "# " + token_ + "\n- canary.txt\n");
  }

  bool AsRoot() const { return GetParam() == Who::kRoot; }

  // Directories and files owned by the account, as if it had made them.
  void MakeDir(const std::string& path, mode_t mode = 0755) {
    ASSERT_TRUE(fs::create_directory(path) || fs::is_directory(path)) << path;
    ASSERT_EQ(chmod(path.c_str(), mode), 0) << path;
    ASSERT_EQ(lchown(path.c_str(), account_.uid, account_.gid), 0) << path;
  }
  void Put(const std::string& path, const std::string& content, mode_t mode = 0644) {
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << content;
      ASSERT_TRUE(out.good()) << path;
    }
    ASSERT_EQ(chmod(path.c_str(), mode), 0) << path;
    ASSERT_EQ(lchown(path.c_str(), account_.uid, account_.gid), 0) << path;
  }
  void Symlink(const std::string& target, const std::string& path) {
    ASSERT_EQ(symlink(target.c_str(), path.c_str()), 0) << path;
    ASSERT_EQ(lchown(path.c_str(), account_.uid, account_.gid), 0) << path;
  }

  void Authorize(const std::vector<std::string>& flags) {
    std::string err;
    ASSERT_TRUE(sshd_->AuthorizeRrsync(account_, rrsync_, flags, data_, &err)) << err;
  }

  std::string Remote(const std::string& path) const { return sshd_->Alias() + ":" + path; }
  CommandResult Rsync(const std::vector<std::string>& args, const RunOptions& options = {}) {
    return sshd_->Rsync(account_, args, options);
  }
  CommandResult Ssh(const std::vector<std::string>& args, const RunOptions& options = {}) {
    return sshd_->Ssh(account_, args, options);
  }

  // The one line rrsync prints when it refuses.
  std::string ErrorLine(const std::string& message) const {
    // Upstream prints its argv[0], which is the path in authorized_keys.
    return (kReference ? rrsync_ : std::string("rrsync")) + " error: " + message;
  }

  // The escape tests' DIR: ordinary files, links pointing out of it, a --files-from list naming
  // things outside, and names that look like options or shell syntax.
  void MakeEscapeTree() {
    Put(data_ + "/canary.txt", "canary\n");
    Put(data_ + "/public.txt", "public\n");
    Symlink("../secret", data_ + "/link-out");
    Symlink("..", data_ + "/link-dir");
    Symlink(srv_ + "/secret", data_ + "/abs-link");
    Put(data_ + "/list.txt", "../secret\n" + srv_ + "/secret\nlink-out\n");
    Put(data_ + "/-e sh x", "dash-e\n");
    Put(data_ + "/--help", "dash-dash-help\n");
    Put(data_ + "/a;b", "semicolon\n");
    outside_ = Snapshot(srv_, true, {"data"});
    inside_ = Snapshot(data_);
  }

  // After an attack: the secret's text appears nowhere the client can see, and nothing outside
  // DIR changed. With `dir_unchanged`, DIR did not change either (a refused or read-only session).
  void ExpectContained(const CommandResult& r, bool dir_unchanged = true) {
    EXPECT_EQ(r.out.find(token_), std::string::npos) << r.Describe();
    EXPECT_EQ(r.err.find(token_), std::string::npos) << r.Describe();
    for (const auto& entry : fs::recursive_directory_iterator(dest_)) {
      if (entry.is_symlink() || !entry.is_regular_file()) continue;
      EXPECT_EQ(ReadFile(entry.path()).find(token_), std::string::npos)
          << "the secret arrived in " << entry.path();
    }
    EXPECT_EQ(DiffTrees(outside_, Snapshot(srv_, true, {"data"})), "") << "outside DIR changed\n"
                                                                       << r.Describe();
    if (dir_unchanged) {
      EXPECT_EQ(DiffTrees(inside_, Snapshot(data_)), "") << r.Describe();
    }
  }

  // A refused rsync session: rsync's exit code for a server that hung up, rrsync's line on stderr.
  void ExpectRefused(const CommandResult& r, const std::string& message) {
    EXPECT_EQ(r.exit_code, 12) << r.Describe();
    EXPECT_TRUE(HasLine(r.err, ErrorLine(message))) << "want: " << ErrorLine(message) << "\n"
                                                    << r.Describe();
    ExpectContained(r);
  }

  std::unique_ptr<SshdHarness> sshd_;
  Account account_;
  std::string rrsync_;
  std::string root_, srv_, data_, dest_, src_;
  std::string token_;
  std::map<std::string, std::string> outside_, inside_;
};

// ---------------------------------------------------------------------------------------------
// Read-only pull: the published backup.

using ReadOnly = E2eTest;

TEST_P(ReadOnly, PullsTheTreeIntact) {
  // Contents, permissions, times, symlinks, hard links, a large sparse file and, as root, owners.
  MakeDir(data_ + "/sub");
  MakeDir(data_ + "/private-dir", 0700);
  MakeDir(data_ + "/empty-dir", 0750);
  Put(data_ + "/plain.txt", "plain\n");
  Put(data_ + "/private.txt", "private\n", 0600);
  Put(data_ + "/group.txt", "group\n", 0640);
  Put(data_ + "/script.sh", "#!/bin/sh\necho hi\n", 0755);
  Put(data_ + "/readonly.txt", "ro\n", 0444);
  Put(data_ + "/empty", "");
  Put(data_ + "/with space and caf\xc3\xa9.txt", "unicode\n");
  Put(data_ + "/-starts-with-dash", "dash\n");
  Put(data_ + "/sub/deep.txt", std::string(100000, 'x'));
  Put(data_ + "/private-dir/inner.txt", "inner\n", 0600);
  Symlink("plain.txt", data_ + "/rel-link");
  Symlink("sub", data_ + "/dir-link");
  Symlink("does-not-exist", data_ + "/dangling-link");
  Put(data_ + "/hard-a", "hard\n");
  ASSERT_EQ(link((data_ + "/hard-a").c_str(), (data_ + "/sub/hard-b").c_str()), 0);
  // 128 MiB apparent, 12 KiB of data: at the start, in the middle and at the end. (rsync -S
  // scans every hole it writes, about 5 s per GiB here, so not bigger.)
  const off_t kSparseSize = off_t{128} << 20;
  {
    const std::string sparse = data_ + "/sparse.img";
    Put(sparse, "");
    int fd = open(sparse.c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    std::string block(4096, 'S');
    ASSERT_EQ(pwrite(fd, block.data(), block.size(), 0), 4096);
    ASSERT_EQ(pwrite(fd, block.data(), block.size(), kSparseSize / 2), 4096);
    ASSERT_EQ(pwrite(fd, block.data(), block.size(), kSparseSize - 4096), 4096);
    close(fd);
  }
  if (AsRoot()) {
    // Owners with and without a name on this machine: daemon (1), and bare numbers.
    ASSERT_EQ(lchown((data_ + "/group.txt").c_str(), 1, 1), 0);
    ASSERT_EQ(lchown((data_ + "/sub").c_str(), 4242, 4343), 0);
    ASSERT_EQ(lchown((data_ + "/rel-link").c_str(), 4242, 1), 0);
  }
  // Times in the past, so a copy that dropped them would show.
  for (const auto& entry : fs::recursive_directory_iterator(data_)) {
    const timespec times[2] = {{1600000000, 0}, {1600000000, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, entry.path().c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  }
  const timespec times[2] = {{1600000000, 0}, {1600000000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, data_.c_str(), times, 0), 0);
  const auto before = Snapshot(data_, AsRoot());
  Authorize({"-ro"});

  CommandResult r = Rsync({"-avHS", Remote("/"), dest_ + "/"});

  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(HasLine(r.out, "sub/deep.txt")) << r.out;
  EXPECT_EQ(DiffTrees(before, Snapshot(dest_, AsRoot())), "");
  EXPECT_EQ(DiffTrees(before, Snapshot(data_, AsRoot())), "") << "the source changed";
  struct stat a, b, sparse;
  ASSERT_EQ(lstat((dest_ + "/hard-a").c_str(), &a), 0);
  ASSERT_EQ(lstat((dest_ + "/sub/hard-b").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "hard link not kept";
  EXPECT_EQ(a.st_nlink, 2u);
  ASSERT_EQ(lstat((dest_ + "/sparse.img").c_str(), &sparse), 0);
  EXPECT_EQ(sparse.st_size, kSparseSize);
  EXPECT_LT(sparse.st_blocks * 512, 1 << 20) << "the sparse file arrived dense";
  if (AsRoot()) {
    struct stat owned;
    ASSERT_EQ(lstat((dest_ + "/sub").c_str(), &owned), 0);
    EXPECT_EQ(owned.st_uid, 4242u);
    EXPECT_EQ(owned.st_gid, 4343u);
  }
}

TEST_P(ReadOnly, SecondRunTransfersOnlyTheChangedFile) {
  MakeDir(data_ + "/sub");
  for (int i = 0; i < 20; ++i) Put(data_ + "/sub/file" + std::to_string(i), std::to_string(i));
  Put(data_ + "/top.txt", "top\n");
  Authorize({"-ro"});
  // The backup command README.md (Setup) teaches, word for word.
  CommandResult first = Rsync({"-av", Remote("/"), dest_ + "/"});
  ASSERT_EQ(first.exit_code, 0) << first.Describe();
  EXPECT_EQ(first.err, "");
  EXPECT_TRUE(HasLine(first.out, "sub/file7")) << first.out;

  // Same name, new content and size; the directory itself is untouched.
  Put(data_ + "/sub/file7", "changed content\n");
  const timespec later[2] = {{1700000000, 0}, {1700000000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (data_ + "/sub/file7").c_str(), later, 0), 0);
  CommandResult second = Rsync({"-a", "--itemize-changes", "--stats", Remote("/"), dest_ + "/"});

  ASSERT_EQ(second.exit_code, 0) << second.Describe();
  std::vector<std::string> itemized;
  for (const std::string& line : Lines(second.out)) {
    // Itemize lines: an update type, a file type, then nine attribute columns and the name.
    if (line.size() > 12 && std::string("<>ch.*").find(line[0]) != std::string::npos &&
        std::string("fdLDS").find(line[1]) != std::string::npos && line[11] == ' ') {
      itemized.push_back(line);
    }
  }
  ASSERT_EQ(itemized.size(), 1u) << second.out;
  EXPECT_EQ(itemized[0].substr(0, 2), ">f") << second.out;
  EXPECT_EQ(itemized[0].substr(12), "sub/file7") << second.out;
  EXPECT_TRUE(HasLine(second.out, "Number of regular files transferred: 1")) << second.out;
  EXPECT_EQ(ReadFile(dest_ + "/sub/file7"), "changed content\n");
}

TEST_P(ReadOnly, RefusesPush) {
  MakeEscapeTree();
  Put(src_ + "/new.txt", "new\n");
  Authorize({"-ro"});

  ExpectRefused(Rsync({"-a", src_ + "/", Remote("/")}),
                "sending to read-only server is not allowed");
  ExpectRefused(Rsync({"-a", "--delete", src_ + "/", Remote("/")}),
                "sending to read-only server is not allowed");
  EXPECT_FALSE(fs::exists(data_ + "/new.txt"));
}

INSTANTIATE_TEST_SUITE_P(Accounts, ReadOnly, ::testing::Values(Who::kRoot, Who::kUser), WhoName);

// ---------------------------------------------------------------------------------------------
// Pushes.

using Push = E2eTest;

TEST_P(Push, IntoReadWriteDirMirrorsTheSourceAndDeletes) {
  MakeDir(src_ + "/sub");
  Put(src_ + "/a.txt", "a\n", 0640);
  Put(src_ + "/sub/b.txt", "b\n");
  Symlink("a.txt", src_ + "/link");
  Put(data_ + "/stale.txt", "stale\n");
  Authorize({});

  CommandResult r = Rsync({"-a", "--delete", src_ + "/", Remote("/")});

  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(DiffTrees(Snapshot(src_, AsRoot()), Snapshot(data_, AsRoot())), "");
  EXPECT_FALSE(fs::exists(data_ + "/stale.txt")) << "--delete did not delete";
  // And back: a read-write DIR serves pulls too.
  CommandResult pull = Rsync({"-a", Remote("/"), dest_ + "/"});
  ASSERT_EQ(pull.exit_code, 0) << pull.Describe();
  EXPECT_EQ(DiffTrees(Snapshot(src_, AsRoot()), Snapshot(dest_, AsRoot())), "");
}

TEST_P(Push, IntoWriteOnlyDir) {
  MakeDir(src_ + "/sub");
  Put(src_ + "/a.txt", "a\n");
  Put(src_ + "/sub/b.txt", "b\n");
  Authorize({"-wo"});

  CommandResult r = Rsync({"-a", src_ + "/", Remote("/")});

  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(DiffTrees(Snapshot(src_, AsRoot()), Snapshot(data_, AsRoot())), "");
}

TEST_P(Push, WriteOnlyDirRefusesPull) {
  MakeEscapeTree();
  Authorize({"-wo"});

  ExpectRefused(Rsync({"-a", Remote("/"), dest_ + "/"}),
                "reading from write-only server is not allowed");
  ExpectRefused(Rsync({"-a", Remote("public.txt"), dest_ + "/"}),
                "reading from write-only server is not allowed");
  EXPECT_TRUE(fs::is_empty(dest_));
}

TEST_P(Push, NoDelRefusesDelete) {
  MakeEscapeTree();
  Put(src_ + "/public.txt", "new public\n");
  Authorize({"-no-del"});

  ExpectRefused(Rsync({"-a", "--delete", src_ + "/", Remote("/")}),
                "option --delete has been disabled on this server.");
  ExpectRefused(Rsync({"-a", "--delete-after", src_ + "/", Remote("/")}),
                "option --delete-after has been disabled on this server.");
  ExpectRefused(Rsync({"-a", "--remove-source-files", Remote("public.txt"), dest_ + "/"}),
                "option --remove-source-files has been disabled on this server.");
  // Without deleting, the same DIR still takes pushes.
  CommandResult r = Rsync({"-a", src_ + "/", Remote("/")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(ReadFile(data_ + "/public.txt"), "new public\n");
  EXPECT_TRUE(fs::exists(data_ + "/canary.txt"));
}

TEST_P(Push, NoOverwriteKeepsExistingFiles) {
  Put(data_ + "/keep.txt", "original\n");
  Put(src_ + "/keep.txt", "overwritten!\n");
  Put(src_ + "/new.txt", "new\n");
  const timespec later[2] = {{1700000000, 0}, {1700000000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (src_ + "/keep.txt").c_str(), later, 0), 0);
  Authorize({"-no-overwrite"});

  CommandResult r = Rsync({"-a", src_ + "/", Remote("/")});

  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(ReadFile(data_ + "/keep.txt"), "original\n");
  EXPECT_EQ(ReadFile(data_ + "/new.txt"), "new\n");
  // Forcing it with --inplace or -I changes nothing either.
  CommandResult forced = Rsync({"-a", "-I", "--inplace", src_ + "/keep.txt", Remote("/")});
  EXPECT_EQ(ReadFile(data_ + "/keep.txt"), "original\n") << forced.Describe();
}

INSTANTIATE_TEST_SUITE_P(Accounts, Push, ::testing::Values(Who::kRoot, Who::kUser), WhoName);

// ---------------------------------------------------------------------------------------------
// Everything that is not an rsync session is refused, by rrsync or by `restrict`.

using Refusal = E2eTest;

TEST_P(Refusal, ShellCommands) {
  MakeEscapeTree();
  Authorize({"-ro"});
  for (const char* command : {"ls", "exit", "cat ../secret", "id; rsync --server"}) {
    CommandResult r = Ssh({sshd_->Alias(), command});
    EXPECT_EQ(r.exit_code, 1) << command << "\n" << r.Describe();
    EXPECT_EQ(r.out, "") << command;
    EXPECT_TRUE(HasLine(r.err, ErrorLine("SSH_ORIGINAL_COMMAND does not run rsync")))
        << command << "\n"
        << r.Describe();
    ExpectContained(r);
  }
  CommandResult options = Ssh({sshd_->Alias(), "rsync --sender --server . /"});
  EXPECT_EQ(options.exit_code, 1) << options.Describe();
  EXPECT_TRUE(HasLine(options.err, ErrorLine("--server option is not the first arg")))
      << options.Describe();
  ExpectContained(options);
}

TEST_P(Refusal, Scp) {
  MakeEscapeTree();
  Authorize({"-ro"});
  const std::vector<std::string> scp = {"scp", "-F", sshd_->ConfigPath(account_)};
  // OpenSSH 9's scp speaks SFTP: the subsystem request also lands on the forced command.
  std::vector<std::string> sftp_mode = scp;
  sftp_mode.insert(sftp_mode.end(), {Remote("public.txt"), dest_ + "/by-sftp"});
  CommandResult r = e2e::Run(account_, sftp_mode);
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_FALSE(fs::exists(dest_ + "/by-sftp"));
  ExpectContained(r);
  // The classic protocol runs "scp -f ..." as a command: rrsync says no.
  std::vector<std::string> legacy = scp;
  legacy.insert(legacy.end(), {"-O", Remote("public.txt"), dest_ + "/by-scp"});
  r = e2e::Run(account_, legacy);
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_TRUE(HasLine(r.err, ErrorLine("SSH_ORIGINAL_COMMAND does not run rsync"))) << r.Describe();
  EXPECT_FALSE(fs::exists(dest_ + "/by-scp"));
  ExpectContained(r);
  // Nor can scp write.
  Put(src_ + "/up.txt", "up\n");
  std::vector<std::string> upload = scp;
  upload.insert(upload.end(), {"-O", src_ + "/up.txt", Remote("up.txt")});
  r = e2e::Run(account_, upload);
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  ExpectContained(r);
}

TEST_P(Refusal, SftpSubsystem) {
  MakeEscapeTree();
  Authorize({"-ro"});
  Put(src_ + "/batch",
      "get public.txt " + dest_ + "/by-sftp\nget ../secret " + dest_ + "/secret-by-sftp\n");

  CommandResult r = e2e::Run(
      account_, {"sftp", "-F", sshd_->ConfigPath(account_), "-b", src_ + "/batch", sshd_->Alias()});

  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_TRUE(HasLine(r.err, "Connection closed")) << r.Describe();
  EXPECT_FALSE(fs::exists(dest_ + "/by-sftp"));
  EXPECT_FALSE(fs::exists(dest_ + "/secret-by-sftp"));
  ExpectContained(r);
  // sshd drops a subsystem's stderr, so rrsync's line cannot reach the client; the log shows the
  // subsystem request was answered with the forced command, not with sftp-server.
  const std::string log = sshd_->SshdLog();
  EXPECT_NE(log.find("session 0 req subsystem"), std::string::npos) << log;
  EXPECT_NE(
      log.find("Starting session: forced-command (key-option) '" + rrsync_ + " -ro " + data_ + "'"),
      std::string::npos)
      << log;
}

TEST_P(Refusal, PortForwarding) {
  Authorize({"-ro"});
  const std::string target = "127.0.0.1:" + std::to_string(sshd_->port());
  // -W: the client's own stdio forwarded to the target; restrict refuses the channel.
  CommandResult w = Ssh({"-W", target, sshd_->Alias()});
  EXPECT_EQ(w.exit_code, 255) << w.Describe();
  EXPECT_TRUE(HasLine(w.err, "channel 0: open failed: administratively prohibited: open failed"))
      << w.Describe();
  EXPECT_EQ(w.out.find("SSH-2.0"), std::string::npos) << w.Describe();

  // -R: the server is asked to listen; refused.
  CommandResult rev =
      Ssh({"-N", "-o", "ExitOnForwardFailure=yes", "-R", "127.0.0.1:0:" + target, sshd_->Alias()});
  EXPECT_EQ(rev.exit_code, 255) << rev.Describe();
  EXPECT_TRUE(HasLineStartingWith(rev.err, "Error: remote port forwarding failed"))
      << rev.Describe();

  // -L: the client listens; what it forwards must not reach the target (here: sshd's banner).
  std::string err;
  const int local_port = FreeLoopbackPort();
  ASSERT_NE(local_port, 0);
  auto forward = BackgroundProcess::Start(
      account_,
      {"ssh", "-F", sshd_->ConfigPath(account_), "-N", "-o", "ExitOnForwardFailure=yes", "-L",
       "127.0.0.1:" + std::to_string(local_port) + ":" + target, sshd_->Alias()},
      {}, &err);
  ASSERT_TRUE(forward) << err;
  std::string received;
  bool connected = false;
  for (int attempt = 0; attempt < 500 && !connected && forward->Running(); ++attempt) {
    connected = ReadFromLoopbackPort(local_port, &received);
    if (!connected) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CommandResult l = forward->Stop();
  ASSERT_TRUE(connected) << "ssh -L never listened\n" << l.Describe();
  EXPECT_EQ(received.find("SSH-2.0"), std::string::npos)
      << "the forward reached sshd: " << received;
  EXPECT_NE(l.err.find("administratively prohibited"), std::string::npos) << l.Describe();
}

TEST_P(Refusal, AgentForwardingAndPty) {
  MakeEscapeTree();
  Authorize({"-ro"});
  std::string err;
  // A real agent to forward, so the request is not dropped on the client side already.
  const std::string sock = root_ + "/clients/" + account_.name + "/agent.sock";
  auto agent = BackgroundProcess::Start(account_, {"ssh-agent", "-D", "-a", sock}, {}, &err);
  ASSERT_TRUE(agent) << err;
  for (int i = 0; i < 200 && !fs::exists(sock); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(fs::exists(sock)) << agent->Stop().Describe();
  const RunOptions with_agent = WithEnv("SSH_AUTH_SOCK=" + sock);

  CommandResult r =
      Rsync({"-a", "-e", "ssh -F " + sshd_->ConfigPath(account_) + " -A", Remote("/"), dest_ + "/"},
            with_agent);

  // The pull itself works; sshd turned the agent request down because of `restrict`.
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  ExpectContained(r);
  const std::string log = sshd_->SshdLog();
  EXPECT_NE(log.find("req auth-agent-req@openssh.com"), std::string::npos) << log;
  EXPECT_NE(log.find("session_auth_agent_req: agent forwarding disabled"), std::string::npos)
      << log;

  CommandResult pty = Ssh({"-tt", sshd_->Alias(), "rsync --server --sender . ."});
  EXPECT_TRUE(HasLine(pty.err, "PTY allocation request failed on channel 0")) << pty.Describe();
  agent->Stop();
}

INSTANTIATE_TEST_SUITE_P(Accounts, Refusal, ::testing::Values(Who::kRoot, Who::kUser), WhoName);

// ---------------------------------------------------------------------------------------------
// Escape attempts through the real client.

using Escape = E2eTest;

TEST_P(Escape, DotDotPaths) {
  MakeEscapeTree();
  Authorize({"-ro"});
  const std::string kDotDot =
      "do not use .. in arg (anchor the path at the root of your restricted dir)";
  for (const char* path : {"../secret", "/../secret", "public.txt/../../secret", ".."}) {
    SCOPED_TRACE(path);
    ExpectRefused(Rsync({"-a", Remote(path), dest_ + "/"}), kDotDot);
  }
  // Pushing into the parent of a read-write DIR.
  Authorize({});
  Put(src_ + "/pwned", "pwned\n");
  ExpectRefused(Rsync({"-a", src_ + "/pwned", Remote("../pwned")}), kDotDot);
}

TEST_P(Escape, AbsolutePaths) {
  MakeEscapeTree();
  Authorize({"-ro"});
  // Without -absolute, a leading / means DIR: these name DIR/srv/.../secret, which is not there.
  for (const std::string& path : std::vector<std::string>{srv_ + "/secret", "/etc/passwd"}) {
    SCOPED_TRACE(path);
    CommandResult r = Rsync({"-a", Remote(path), dest_ + "/"});
    EXPECT_EQ(r.exit_code, 12) << r.Describe();
    EXPECT_TRUE(HasLine(r.err, ErrorLine("post-realpath open failed (race detected): " + path +
                                         " No such file or directory")))
        << r.Describe();
    ExpectContained(r);
  }
  // "/" is DIR itself.
  CommandResult root = Rsync({"-a", Remote("/public.txt"), dest_ + "/"});
  EXPECT_EQ(root.exit_code, 0) << root.Describe();
  EXPECT_EQ(ReadFile(dest_ + "/public.txt"), "public\n");
  ExpectContained(root);
  // A push to an absolute path lands under DIR or nowhere, never at that path.
  Authorize({});
  Put(src_ + "/pwned", "pwned\n");
  CommandResult push = Rsync({"-a", src_ + "/pwned", Remote(srv_ + "/pwned")});
  EXPECT_NE(push.exit_code, 0) << push.Describe();
  EXPECT_FALSE(fs::exists(srv_ + "/pwned"));
  ExpectContained(push);
}

TEST_P(Escape, SymlinkInsideDirPointingOut) {
  MakeEscapeTree();
  Authorize({"-ro"});
  // The whole tree: the links arrive as links, never as what they point to.
  CommandResult all = Rsync({"-a", Remote("/"), dest_ + "/"});
  EXPECT_EQ(all.exit_code, 0) << all.Describe();
  EXPECT_EQ(fs::read_symlink(dest_ + "/link-out"), "../secret");
  EXPECT_EQ(fs::read_symlink(dest_ + "/link-dir"), "..");
  EXPECT_EQ(fs::read_symlink(dest_ + "/abs-link"), srv_ + "/secret");
  ExpectContained(all);
  fs::remove_all(dest_);
  MakeDir(dest_);
  // Naming the link: the link itself, or a refusal when rsync would have to follow it.
  CommandResult link = Rsync({"-a", Remote("link-out"), dest_ + "/"});
  EXPECT_EQ(link.exit_code, 12) << link.Describe();
  EXPECT_TRUE(HasLineStartingWith(link.err, ErrorLine("unsafe arg: link-out"))) << link.Describe();
  ExpectContained(link);
  for (const std::string path : {"link-out/", "link-dir/", "link-dir/secret", "abs-link"}) {
    SCOPED_TRACE(path);
    CommandResult r = Rsync({"-a", Remote(path), dest_ + "/"});
    EXPECT_EQ(r.exit_code, 12) << r.Describe();
    EXPECT_TRUE(HasLineStartingWith(r.err, ErrorLine("unsafe arg: " + path))) << r.Describe();
    ExpectContained(r);
  }
  // Writing through a link to outside: plant it with one push, use it with the next.
  Authorize({});
  MakeDir(src_ + "/plant");
  Symlink("..", src_ + "/plant/evil");
  Put(src_ + "/pwned", "pwned\n");
  CommandResult plant = Rsync({"-a", src_ + "/plant/", Remote("/")});
  EXPECT_EQ(plant.exit_code, 0) << plant.Describe();
  inside_ = Snapshot(data_);
  CommandResult through = Rsync({"-a", src_ + "/pwned", Remote("evil/pwned")});
  EXPECT_EQ(through.exit_code, 12) << through.Describe();
  EXPECT_TRUE(HasLineStartingWith(through.err, ErrorLine("unsafe arg: evil/pwned")))
      << through.Describe();
  CommandResult into = Rsync({"-a", src_ + "/pwned", Remote("evil/")});
  EXPECT_NE(into.exit_code, 0) << into.Describe();
  EXPECT_FALSE(fs::exists(srv_ + "/pwned"));
  ExpectContained(through);
  ExpectContained(into);
}

TEST_P(Escape, CopyLinksOptions) {
  MakeEscapeTree();
  Authorize({"-ro"});
  ExpectRefused(Rsync({"-aL", Remote("/"), dest_ + "/"}),
                "option -L has been disabled on this server.");
  ExpectRefused(Rsync({"-a", "--copy-links", Remote("link-out"), dest_ + "/"}),
                "option -L has been disabled on this server.");
  ExpectRefused(Rsync({"-a", "--copy-unsafe-links", Remote("/"), dest_ + "/"}),
                "option --copy-unsafe-links has been disabled on this server.");
  ExpectRefused(Rsync({"-a", "--copy-dirlinks", Remote("/"), dest_ + "/"}),
                "option -k has been disabled on this server.");
  EXPECT_TRUE(fs::is_empty(dest_));
  // -K is the receiver's: it matters when pushing, where the server would follow link-dir.
  Authorize({});
  MakeDir(src_ + "/link-dir");
  Put(src_ + "/link-dir/pwned", "pwned\n");
  ExpectRefused(Rsync({"-a", "--keep-dirlinks", src_ + "/", Remote("/")}),
                "option -K has been disabled on this server.");
}

TEST_P(Escape, FilesFromOutside) {
  MakeEscapeTree();
  Authorize({"-ro"});
  ExpectRefused(
      Rsync({"-a", "--files-from=:../secret", Remote("/"), dest_ + "/"}),
      "do not use .. in --files-from (anchor the path at the root of your restricted dir)");
  CommandResult abs = Rsync({"-a", "--files-from=:" + srv_ + "/secret", Remote("/"), dest_ + "/"});
  EXPECT_EQ(abs.exit_code, 12) << abs.Describe();
  EXPECT_TRUE(HasLine(abs.err, ErrorLine("post-realpath open failed (race detected): " + srv_ +
                                         "/secret No such file or directory")))
      << abs.Describe();
  ExpectContained(abs);
  CommandResult via_link = Rsync({"-a", "--files-from=:link-out", Remote("/"), dest_ + "/"});
  EXPECT_EQ(via_link.exit_code, 12) << via_link.Describe();
  EXPECT_TRUE(HasLineStartingWith(via_link.err, ErrorLine("unsafe arg: link-out")))
      << via_link.Describe();
  ExpectContained(via_link);
  // A list inside DIR that names things outside: rsync itself anchors the names in DIR.
  CommandResult list = Rsync({"-a", "--files-from=:list.txt", Remote("/"), dest_ + "/"});
  EXPECT_EQ(list.exit_code, 23) << list.Describe();
  ExpectContained(list);
  EXPECT_EQ(fs::read_symlink(dest_ + "/link-out"), "../secret");
  EXPECT_FALSE(fs::exists(dest_ + "/secret"));
}

TEST_P(Escape, LogFileOption) {
  MakeEscapeTree();
  Authorize({"-ro"});
  ExpectRefused(Rsync({"-a", "-M--log-file=" + srv_ + "/pwned", Remote("/"), dest_ + "/"}),
                "option --log-file has been disabled on this server.");
  Authorize({});
  Put(src_ + "/up.txt", "up\n");
  ExpectRefused(Rsync({"-a", "-M--log-file=../pwned", src_ + "/", Remote("/")}),
                "do not use .. in --log-file (anchor the path at the root of your restricted dir)");
  // An absolute name is anchored in DIR, where that path does not exist: no log, no escape.
  CommandResult abs = Rsync({"-a", "-M--log-file=" + srv_ + "/pwned", src_ + "/", Remote("/")});
  ExpectContained(abs, /*dir_unchanged=*/false);
  EXPECT_FALSE(fs::exists(srv_ + "/pwned"));
}

TEST_P(Escape, DebugOption) {
  MakeEscapeTree();
  Authorize({"-ro"});
  ExpectRefused(Rsync({"-a", "-M--debug=ALL", Remote("/"), dest_ + "/"}),
                "option --debug has been disabled on this server.");
  ExpectRefused(Rsync({"-a", "-M--debug=FILTER4", Remote("/"), dest_ + "/"}),
                "option --debug has been disabled on this server.");
}

TEST_P(Escape, FilterRulesNamingFilesOutside) {
  MakeEscapeTree();
  // Per-directory merge rules travel to the server, which reads the named file as rules. The
  // secret is also a valid filter file that hides canary.txt, so a server that read it leaves
  // canary.txt out. Each rule is first shown to work without rrsync, in a local transfer run the
  // way rrsync runs the server: from inside DIR, on ".".
  const std::vector<std::string> rules = {"dir-merge ../secret", "dir-merge /secret",
                                          "dir-merge " + srv_ + "/secret"};
  for (const std::string& rule : rules) {
    RunOptions in_dir;
    in_dir.cwd = data_;
    CommandResult control =
        e2e::Run(account_, {"rsync", "-a", "--filter=" + rule, "./", dest_ + "/control/"}, in_dir);
    ASSERT_EQ(control.exit_code, 0) << rule << "\n" << control.Describe();
    ASSERT_FALSE(fs::exists(dest_ + "/control/canary.txt"))
        << rule << ": the control read no rules";
    fs::remove_all(dest_ + "/control");
  }
  Authorize({"-ro"});
  // "backup:." reaches the server as "." itself, the shape the control shows.
  for (const std::string& rule : rules) {
    for (const char* path : {".", "/"}) {
      SCOPED_TRACE(rule + " on " + Remote(path));
      CommandResult r = Rsync({"-a", "--filter=" + rule, Remote(path), dest_ + "/"});
      EXPECT_EQ(r.exit_code, 0) << r.Describe();
      EXPECT_TRUE(fs::exists(dest_ + "/canary.txt")) << "the server read rules from outside DIR";
      EXPECT_TRUE(fs::exists(dest_ + "/public.txt"));
      ExpectContained(r);
      fs::remove_all(dest_);
      MakeDir(dest_);
    }
  }
  // Pushing with --delete: a receiver that read the outside rules would spare canary.txt.
  Authorize({});
  Put(src_ + "/public.txt", "public\n");
  CommandResult push =
      Rsync({"-a", "--delete", "--filter=dir-merge ../secret", src_ + "/", Remote(".")});
  EXPECT_EQ(push.exit_code, 0) << push.Describe();
  EXPECT_FALSE(fs::exists(data_ + "/canary.txt")) << "the receiver read rules from outside DIR";
  ExpectContained(push, /*dir_unchanged=*/false);
}

TEST_P(Escape, OptionInjectionThroughNames) {
  MakeEscapeTree();
  Authorize({"-ro"});
  // Names that look like options are names: these files exist in DIR and arrive as files.
  for (const std::string name : {"-e sh x", "--help"}) {
    SCOPED_TRACE(name);
    CommandResult r = Rsync({"-a", Remote(name), dest_ + "/"});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_TRUE(fs::exists(dest_ + "/" + name));
    ExpectContained(r);
  }
  // A "path" that would be an option if rsync took it as one: no log file appears anywhere.
  for (const std::string& name :
       std::vector<std::string>{"--log-file=" + srv_ + "/pwned", "-M--log-file=" + srv_ + "/pwned",
                                "--files-from=" + srv_ + "/secret"}) {
    SCOPED_TRACE(name);
    CommandResult r = Rsync({"-a", Remote(name), dest_ + "/"});
    EXPECT_NE(r.exit_code, 0) << r.Describe();
    EXPECT_TRUE(HasLineStartingWith(r.err, ErrorLine(""))) << r.Describe();
    ExpectContained(r);
  }
  // The same through a hand-made command line, after the "." where paths begin.
  CommandResult raw = Ssh({sshd_->Alias(),
                           "rsync --server --sender -logDtpre.iLsfxCIvu . "
                           "--log-file=" +
                               srv_ + "/pwned"});
  EXPECT_NE(raw.exit_code, 0) << raw.Describe();
  ExpectContained(raw);
  // Pushing files whose names start with "-" into a read-write DIR.
  Authorize({});
  Put(src_ + "/-rf", "dash-rf\n");
  Put(src_ + "/--delete", "dash-delete\n");
  CommandResult push = Rsync({"-a", src_ + "/", Remote("/")});
  EXPECT_EQ(push.exit_code, 0) << push.Describe();
  EXPECT_EQ(ReadFile(data_ + "/-rf"), "dash-rf\n");
  EXPECT_EQ(ReadFile(data_ + "/--delete"), "dash-delete\n");
  EXPECT_TRUE(fs::exists(data_ + "/canary.txt")) << "a name acted as --delete";
  ExpectContained(push, /*dir_unchanged=*/false);
}

TEST_P(Escape, ShellMetacharacters) {
  MakeEscapeTree();
  Authorize({"-ro"});
  const std::string pwned = srv_ + "/pwned";
  // Typed by hand into SSH_ORIGINAL_COMMAND: anything that handed it to a shell would run touch.
  for (const std::string& payload :
       {"x;touch " + pwned, "x|touch " + pwned, "x && touch " + pwned, "$(touch " + pwned + ")",
        "`touch " + pwned + "`", "x\ntouch " + pwned}) {
    SCOPED_TRACE(payload);
    CommandResult raw =
        Ssh({sshd_->Alias(), "rsync --server --sender -logDtpre.iLsfxCIvu . " + payload});
    EXPECT_NE(raw.exit_code, 0) << raw.Describe();
    ExpectContained(raw);
  }
  CommandResult first = Ssh({sshd_->Alias(), "touch " + pwned + "; rsync --server --sender . ."});
  EXPECT_EQ(first.exit_code, 1) << first.Describe();
  ExpectContained(first);
  // Through the rsync client: escaped for the server by default, sent raw with --old-args.
  for (const std::string& payload : {"x;touch " + pwned, "$(touch " + pwned + ")"}) {
    SCOPED_TRACE(payload);
    CommandResult escaped = Rsync({"-a", Remote(payload), dest_ + "/"});
    EXPECT_NE(escaped.exit_code, 0) << escaped.Describe();
    ExpectContained(escaped);
    CommandResult old = Rsync({"-a", "--old-args", Remote(payload), dest_ + "/"});
    EXPECT_NE(old.exit_code, 0) << old.Describe();
    ExpectContained(old);
  }
  EXPECT_FALSE(fs::exists(pwned));
  // A file whose name holds a metacharacter is just a file.
  CommandResult name = Rsync({"-a", Remote("a;b"), dest_ + "/"});
  EXPECT_EQ(name.exit_code, 0) << name.Describe();
  EXPECT_EQ(ReadFile(dest_ + "/a;b"), "semicolon\n");
}

INSTANTIATE_TEST_SUITE_P(Accounts, Escape, ::testing::Values(Who::kRoot, Who::kUser), WhoName);

// ---------------------------------------------------------------------------------------------
// What upstream does and the sandbox once broke (issue 12): a read-write key's pull may remove
// what it sent and write its log in DIR; --iconv works with names that are not ASCII.

using LikeUpstream = E2eTest;

TEST_P(LikeUpstream, ReadWritePullRemovesTheSentFiles) {
  MakeDir(data_ + "/sub");
  Put(data_ + "/a.txt", "a\n");
  Put(data_ + "/sub/b.txt", "b\n");
  Authorize({});
  CommandResult r = Rsync({"-a", "--remove-source-files", Remote("/"), dest_ + "/"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(ReadFile(dest_ + "/a.txt"), "a\n");
  EXPECT_EQ(ReadFile(dest_ + "/sub/b.txt"), "b\n");
  // rsync removes the files it sent, never the directories.
  EXPECT_FALSE(fs::exists(data_ + "/a.txt")) << r.Describe();
  EXPECT_FALSE(fs::exists(data_ + "/sub/b.txt")) << r.Describe();
  EXPECT_TRUE(fs::is_directory(data_ + "/sub"));
}

TEST_P(LikeUpstream, ReadWritePullWritesItsLogFile) {
  Put(data_ + "/a.txt", "a\n");
  // As upstream, a sender's paths must exist (a missing one reads as a race): the log too.
  Put(data_ + "/pull.log", "");
  Authorize({});
  CommandResult r = Rsync({"-a", "-M--log-file=pull.log", Remote("a.txt"), dest_ + "/"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(ReadFile(dest_ + "/a.txt"), "a\n");
  // rsync's log names the file it sent.
  EXPECT_NE(ReadFile(data_ + "/pull.log").find("a.txt"), std::string::npos) << r.Describe();
}

TEST_P(LikeUpstream, IconvCarriesNamesThatAreNotAscii) {
  const std::string name = "caf\xc3\xa9 \xe2\x82\xac.txt";  // "café €.txt" in UTF-8
  Put(data_ + "/" + name, "pulled\n");
  Put(src_ + "/" + name, "pushed\n");
  Authorize({});
  RunOptions utf8;
  utf8.env = {"LC_ALL=C.UTF-8"};
  CommandResult pull = Rsync({"-a", "--iconv=.", Remote("/"), dest_ + "/"}, utf8);
  ASSERT_EQ(pull.exit_code, 0) << pull.Describe();
  EXPECT_EQ(ReadFile(dest_ + "/" + name), "pulled\n");
  fs::remove(data_ + "/" + name);
  CommandResult push = Rsync({"-a", "--iconv=.", src_ + "/", Remote("/")}, utf8);
  ASSERT_EQ(push.exit_code, 0) << push.Describe();
  EXPECT_EQ(ReadFile(data_ + "/" + name), "pushed\n");
  // The same for an explicit pair of character sets, which loads a gconv module; the server
  // names the file in ISO-8859-1.
  fs::remove(src_ + "/" + name);
  Put(src_ + "/caf\xc3\xa9.txt", "latin1\n");
  CommandResult latin = Rsync({"-a", "--iconv=UTF-8,ISO-8859-1", src_ + "/", Remote("/")}, utf8);
  ASSERT_EQ(latin.exit_code, 0) << latin.Describe();
  EXPECT_EQ(ReadFile(data_ + "/caf\xe9.txt"), "latin1\n") << latin.Describe();
}

INSTANTIATE_TEST_SUITE_P(Accounts, LikeUpstream, ::testing::Values(Who::kRoot, Who::kUser),
                         WhoName);

// ---------------------------------------------------------------------------------------------
// The agent pitfall: an ssh-agent holding another key for the same account, one that is not
// restricted. ssh offers agent keys before IdentityFile ones, so without IdentitiesOnly the
// backup would log in with that key and bypass rrsync.

using AgentPitfall = E2eTest;

TEST_P(AgentPitfall, IdentitiesOnlyKeepsTheRrsyncKey) {
  MakeEscapeTree();
  std::string err;
  const std::string admin_key = root_ + "/clients/" + account_.name + "/admin_key";
  ASSERT_TRUE(GenerateKey(account_, admin_key, &err)) << err;
  std::string admin_pub = ReadFile(admin_key + ".pub");
  ASSERT_TRUE(sshd_->SetAuthorizedKeys(
      account_,
      ForcedCommandLine(rrsync_ + " -ro " + data_, sshd_->PublicKey(account_)) + "\n" + admin_pub,
      &err))
      << err;
  const std::string sock = root_ + "/clients/" + account_.name + "/agent.sock";
  auto agent = BackgroundProcess::Start(account_, {"ssh-agent", "-D", "-a", sock}, {}, &err);
  ASSERT_TRUE(agent) << err;
  for (int i = 0; i < 200 && !fs::exists(sock); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const RunOptions with_agent = WithEnv("SSH_AUTH_SOCK=" + sock);
  CommandResult add = e2e::Run(account_, {"ssh-add", admin_key}, with_agent);
  ASSERT_EQ(add.exit_code, 0) << add.Describe();

  // The pitfall is real: the same alias without IdentitiesOnly logs in with the agent's key.
  CommandResult bypass =
      Ssh({"-o", "IdentitiesOnly=no", sshd_->Alias(), "cat " + srv_ + "/secret"}, with_agent);
  if (AsRoot()) {
    // For root, PermitRootLogin forced-commands-only turns the unrestricted key away.
    EXPECT_EQ(bypass.exit_code, 255) << bypass.Describe();
    EXPECT_NE(sshd_->SshdLog().find("ROOT LOGIN REFUSED"), std::string::npos);
  } else {
    EXPECT_EQ(bypass.exit_code, 0) << bypass.Describe();
    EXPECT_NE(bypass.out.find(token_), std::string::npos) << bypass.Describe();
  }

  // The alias as documented goes through rrsync, agent or not.
  CommandResult shell = Ssh({sshd_->Alias(), "cat ../secret"}, with_agent);
  EXPECT_EQ(shell.exit_code, 1) << shell.Describe();
  EXPECT_TRUE(HasLine(shell.err, ErrorLine("SSH_ORIGINAL_COMMAND does not run rsync")))
      << shell.Describe();
  ExpectContained(shell);
  CommandResult pull = Rsync({"-a", Remote("/"), dest_ + "/"}, with_agent);
  EXPECT_EQ(pull.exit_code, 0) << pull.Describe();
  EXPECT_TRUE(fs::exists(dest_ + "/public.txt"));
  ExpectContained(pull);
  Put(src_ + "/up.txt", "up\n");
  ExpectRefused(Rsync({"-a", src_ + "/", Remote("/")}, with_agent),
                "sending to read-only server is not allowed");
  agent->Stop();
}

INSTANTIATE_TEST_SUITE_P(Accounts, AgentPitfall, ::testing::Values(Who::kRoot, Who::kUser),
                         WhoName);

// ---------------------------------------------------------------------------------------------
// Secluded arguments (-s): the client sends its options and paths on stdin; rrsync reads them
// and decides the command they make like a plain one, then runs rsync without -s.

using Secluded = E2eTest;

// The four ways a client asks for it: its options, and its environment.
struct SecludedWay {
  const char* name;
  std::vector<std::string> options;
  RunOptions run;
};

std::vector<SecludedWay> SecludedWays() {
  return {{"-s", {"-s"}, {}},
          {"--secluded-args", {"--secluded-args"}, {}},
          {"--protect-args", {"--protect-args"}, {}},
          {"RSYNC_PROTECT_ARGS=1", {}, WithEnv("RSYNC_PROTECT_ARGS=1")}};
}

std::vector<std::string> Args(const SecludedWay& way, const std::vector<std::string>& more) {
  std::vector<std::string> args = way.options;
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST_P(Secluded, PullFromReadOnlyAndPushToWriteOnly) {
  if (kReference) GTEST_SKIP() << "upstream rrsync refuses -s";
  // Names a shell would take apart: what -s is for.
  MakeDir(data_ + "/sub dir");
  Put(data_ + "/sub dir/a b;c.txt", "a b c\n");
  Put(data_ + "/$(id).txt", "dollar\n");
  MakeDir(src_ + "/up load");
  Put(src_ + "/up load/x 'y'.txt", "x y\n");
  for (const SecludedWay& way : SecludedWays()) {
    SCOPED_TRACE(way.name);
    fs::remove_all(dest_);
    MakeDir(dest_);
    Authorize({"-ro"});
    CommandResult pull =
        Rsync(Args(way, {"-a", Remote("/sub dir"), Remote("/$(id).txt"), dest_ + "/"}), way.run);
    ASSERT_EQ(pull.exit_code, 0) << pull.Describe();
    EXPECT_EQ(pull.err, "");
    EXPECT_EQ(ReadFile(dest_ + "/sub dir/a b;c.txt"), "a b c\n");
    EXPECT_EQ(ReadFile(dest_ + "/$(id).txt"), "dollar\n");

    Authorize({"-wo"});
    fs::remove_all(data_ + "/in " + way.name);
    CommandResult push = Rsync(
        Args(way, {"-a", src_ + "/up load/", Remote("/in " + std::string(way.name))}), way.run);
    ASSERT_EQ(push.exit_code, 0) << push.Describe();
    EXPECT_EQ(push.err, "");
    EXPECT_EQ(DiffTrees(Snapshot(src_ + "/up load", AsRoot()),
                        Snapshot(data_ + "/in " + way.name, AsRoot())),
              "");
  }
}

TEST_P(Secluded, ReadOnlyAndWriteOnlyRefuseAsForAPlainCommand) {
  if (kReference) GTEST_SKIP() << "upstream rrsync refuses -s";
  MakeEscapeTree();
  Put(src_ + "/new.txt", "new\n");
  for (const SecludedWay& way : SecludedWays()) {
    SCOPED_TRACE(way.name);
    Authorize({"-ro"});
    ExpectRefused(Rsync(Args(way, {"-a", src_ + "/", Remote("/")}), way.run),
                  "sending to read-only server is not allowed");
    Authorize({"-wo"});
    ExpectRefused(Rsync(Args(way, {"-a", Remote("/public.txt"), dest_ + "/"}), way.run),
                  "reading from write-only server is not allowed");
  }
  EXPECT_TRUE(fs::is_empty(dest_));
}

TEST_P(Secluded, HostileSecludedWordsAreRefusedWithThePlainCommandsMessage) {
  if (kReference) GTEST_SKIP() << "upstream rrsync refuses -s";
  MakeEscapeTree();
  Put(src_ + "/up.txt", "up\n");
  struct Attack {
    std::vector<std::string> flags;  // rrsync's
    std::vector<std::string> args;   // the client's, without -s
    std::string message;
  };
  const std::string kDotDot =
      "do not use .. in arg (anchor the path at the root of your restricted dir)";
  const std::vector<Attack> attacks = {
      {{"-ro"}, {"-a", Remote("/../secret"), dest_ + "/"}, kDotDot},
      {{"-ro"}, {"-a", Remote("public.txt/../../secret"), dest_ + "/"}, kDotDot},
      {{"-ro"},
       {"-a", Remote("link-out"), dest_ + "/"},
       "unsafe arg: link-out ['link-out', '" + srv_ + "/secret']"},
      {{"-ro"},
       {"-a", "-M--log-file=" + srv_ + "/pwned", Remote("/"), dest_ + "/"},
       "option --log-file has been disabled on this server."},
      {{"-ro"},
       {"-a", "-M--debug=ALL", Remote("/"), dest_ + "/"},
       "option --debug has been disabled on this server."},
      {{},
       {"-a", "-M--log-file=../pwned", src_ + "/", Remote("/")},
       "do not use .. in --log-file (anchor the path at the root of your restricted dir)"},
      {{}, {"-a", src_ + "/up.txt", Remote("../pwned")}, kDotDot},
  };
  for (const Attack& attack : attacks) {
    SCOPED_TRACE(attack.message);
    Authorize(attack.flags);
    // The plain command first: the secluded one must be refused with the very same line.
    ExpectRefused(Rsync(attack.args), attack.message);
    std::vector<std::string> secluded = {"-s"};
    secluded.insert(secluded.end(), attack.args.begin(), attack.args.end());
    ExpectRefused(Rsync(secluded), attack.message);
  }
  EXPECT_FALSE(fs::exists(srv_ + "/pwned"));
}

TEST_P(Secluded, NoSecludedWordTurnsOnSecludedArgsAgain) {
  if (kReference) GTEST_SKIP() << "upstream rrsync refuses -s";
  MakeEscapeTree();
  Authorize({"-ro"});
  // rsync, run with a second -s, would read more arguments from stdin that nobody checked.
  ExpectRefused(Rsync({"-s", "-M-s", "-a", Remote("/public.txt"), dest_ + "/"}),
                "option -s has been disabled on this server.");
  ExpectRefused(Rsync({"-s", "-M-vs", "-a", Remote("/public.txt"), dest_ + "/"}),
                "option -s has been disabled on this server.");
  for (const char* option : {"-M--secluded-args", "-M--protect-args"}) {
    SCOPED_TRACE(option);
    ExpectRefused(Rsync({"-s", option, "-a", Remote("/public.txt"), dest_ + "/"}),
                  "invalid rsync-command syntax or options");
  }
  EXPECT_TRUE(fs::is_empty(dest_));
}

TEST_P(Secluded, AHandWrittenStreamIsReadExactlyOrRefused) {
  if (kReference) GTEST_SKIP() << "upstream rrsync refuses -s";
  MakeEscapeTree();
  Authorize({"-ro"});
  // ssh with stdin from printf: what a client that is not rsync could send.
  auto send = [&](const std::string& printf_format) {
    return e2e::Run(
        account_, {"sh", "-c",
                   "printf '" + printf_format + "' | ssh -F " + sshd_->ConfigPath(account_) + " " +
                       sshd_->Alias() + " rsync --server --sender -se.iLsfxCIvu"});
  };
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"rsync\\0.\\0public.txt",
       "secluded args: the client closed the connection before their end"},
      {"", "secluded args: the client closed the connection before their end"},
      {"sh\\0-c\\0id\\0\\0", "secluded args: the first one is not \"rsync\""},
      {"rsync\\0-s\\0.\\0public.txt\\0\\0", "option -s has been disabled on this server."},
      {"rsync\\0.\\0../secret\\0\\0",
       "do not use .. in arg (anchor the path at the root of your restricted dir)"},
  };
  for (const auto& [bytes, message] : cases) {
    SCOPED_TRACE(bytes);
    CommandResult r = send(bytes);
    EXPECT_EQ(r.exit_code, 1) << r.Describe();
    EXPECT_TRUE(HasLine(r.err, ErrorLine(message))) << "want: " << ErrorLine(message) << "\n"
                                                    << r.Describe();
    ExpectContained(r);
  }
  // A well-formed list, then the client's protocol version (32): rsync sends its own version
  // and, having read the client's intact right after the list, goes on to offer its checksums.
  // One byte read too far, and rsync sees a broken version and stops after its own four bytes.
  CommandResult ok = send("rsync\\0.\\0public.txt\\0\\0\\040\\0\\0\\0");
  EXPECT_EQ(ok.out.substr(0, 4), std::string(" \0\0\0", 4)) << ok.Describe();
  EXPECT_GT(ok.out.size(), 4u) << ok.Describe();
  EXPECT_EQ(ok.err.find("protocol version mismatch"), std::string::npos) << ok.Describe();
}

TEST_P(Secluded, IconvWithANonAsciiName) {
  if (kReference) GTEST_SKIP() << "upstream rrsync refuses -s";
  Put(data_ + "/caf\xc3\xa9.txt", "coffee\n");
  Authorize({"-ro"});
  CommandResult plain = Rsync({"-a", "--iconv=utf8,utf8", Remote("/"), dest_ + "/plain/"});
  if (plain.exit_code != 0)
    GTEST_SKIP() << "--iconv fails without -s too (a sandbox locale problem, not -s):\n"
                 << plain.Describe();
  CommandResult r =
      Rsync({"-s", "--iconv=utf8,utf8", Remote("/caf\xc3\xa9.txt"), dest_ + "/secluded/"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(ReadFile(dest_ + "/secluded/caf\xc3\xa9.txt"), "coffee\n");
}

INSTANTIATE_TEST_SUITE_P(Accounts, Secluded, ::testing::Values(Who::kRoot, Who::kUser), WhoName);

// ---------------------------------------------------------------------------------------------
// What only this rrsync has.

using Extras = E2eTest;

TEST_P(Extras, AnswersTheProbe) {
  if (kReference) GTEST_SKIP() << "upstream rrsync has no rrsync-probe";
  const std::vector<std::pair<std::vector<std::string>, std::string>> modes = {
      {{"-ro"}, "read-only"}, {{"-wo"}, "write-only"}, {{}, "read-write"}};
  for (const auto& [flags, mode] : modes) {
    SCOPED_TRACE(mode);
    Authorize(flags);
    CommandResult r = Ssh({sshd_->Alias(), "rrsync-probe"});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_EQ(r.out, "rrsync-probe ok version=0.1.0 mode=" + mode + "\n") << r.Describe();
  }
}

bool KernelHasLandlock() {
  // Returns the ABI version, or fails with ENOSYS/EOPNOTSUPP.
  return syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION) >= 1;
}

TEST_P(Extras, PullAndPushUnderTheRequiredSandbox) {
  if (kReference) GTEST_SKIP() << "upstream rrsync has no -sandbox";
  if (!KernelHasLandlock()) GTEST_SKIP() << "this kernel has no Landlock";
  MakeEscapeTree();
  Authorize({"-ro", "-sandbox=require"});
  CommandResult pull = Rsync({"-a", Remote("/"), dest_ + "/"});
  EXPECT_EQ(pull.exit_code, 0) << pull.Describe();
  EXPECT_EQ(DiffTrees(Snapshot(data_, AsRoot()), Snapshot(dest_, AsRoot())), "");
  ExpectContained(pull);
  Authorize({"-sandbox=require"});
  MakeDir(src_ + "/sub");
  Put(src_ + "/sub/new.txt", "new\n");
  CommandResult push = Rsync({"-a", src_ + "/", Remote("/")});
  EXPECT_EQ(push.exit_code, 0) << push.Describe();
  EXPECT_EQ(ReadFile(data_ + "/sub/new.txt"), "new\n");
  ExpectContained(push, /*dir_unchanged=*/false);
}

INSTANTIATE_TEST_SUITE_P(Accounts, Extras, ::testing::Values(Who::kRoot, Who::kUser), WhoName);

// ---------------------------------------------------------------------------------------------
// macOS's openrsync as the client (issue 12): it spells the short options out and sends
// --delete-before to the sender of a pull. The replay tests run always: the stock rsync client
// talks the protocol while its ssh command sends the exact remote command openrsync sends for the
// same transfer (recorded from openrsync's client; the options mean the same to both ends). The
// last test runs the real openrsync when one is installed.

#ifndef OPENRSYNC_BINARY
#define OPENRSYNC_BINARY ""
#endif

class Openrsync : public E2eTest {
 protected:
  void SetUp() override {
    if (kReference) GTEST_SKIP() << "upstream rrsync refuses openrsync's commands (README, 11-12)";
    E2eTest::SetUp();
  }

  // `rsync -e REPLAY ARGS...`, where REPLAY is ssh to Alias() running `command` in place of the
  // remote command the stock client built.
  CommandResult Replay(const std::string& command, const std::vector<std::string>& args) {
    const std::string script = root_ + "/replay-ssh";
    std::ofstream out(script, std::ios::trunc);
    out << "#!/bin/sh\nexec ssh -F " << sshd_->ConfigPath(account_) << " " << sshd_->Alias()
        << " \"$RRSYNC_REPLAY\"\n";
    out.close();
    EXPECT_EQ(chmod(script.c_str(), 0755), 0) << script;
    std::vector<std::string> argv = {"rsync", "-e", script};
    argv.insert(argv.end(), args.begin(), args.end());
    RunOptions options;
    options.env = {"RRSYNC_REPLAY=" + command};
    return e2e::Run(account_, argv, options);
  }

  void MakeTree() {
    MakeDir(data_ + "/sub");
    Put(data_ + "/a.txt", "a\n");
    Put(data_ + "/sub/b.txt", "b\n");
  }
};

// `openrsync -a --delete server:/ backup/`
TEST_P(Openrsync, ReplayedPullWithDeleteUnderReadOnly) {
  MakeTree();
  Put(dest_ + "/stale.txt", "stale\n");
  const auto before = Snapshot(data_);
  Authorize({"-ro"});
  CommandResult r = Replay("rsync --server --sender --delete-before -g -l -o -p -D -r -t . /",
                           {"-a", "--delete", Remote("/"), dest_ + "/"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(ReadFile(dest_ + "/a.txt"), "a\n");
  EXPECT_EQ(ReadFile(dest_ + "/sub/b.txt"), "b\n");
  EXPECT_FALSE(fs::exists(dest_ + "/stale.txt")) << "the client's side was not mirrored";
  EXPECT_EQ(DiffTrees(before, Snapshot(data_)), "") << "the read-only side changed";
}

// `openrsync -R server:/sub/b.txt backup/`
TEST_P(Openrsync, ReplayedRelativePull) {
  MakeTree();
  Authorize({"-ro"});
  CommandResult r = Replay("rsync --server --sender --relative . /sub/b.txt",
                           {"-R", Remote("/sub/b.txt"), dest_ + "/"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(ReadFile(dest_ + "/sub/b.txt"), "b\n");
  EXPECT_FALSE(fs::exists(dest_ + "/b.txt"));
}

// `openrsync -aH src/ server:sub/`
TEST_P(Openrsync, ReplayedPushWithHardLinks) {
  MakeDir(data_ + "/sub");
  Put(src_ + "/a.txt", "a\n");
  ASSERT_EQ(link((src_ + "/a.txt").c_str(), (src_ + "/b.txt").c_str()), 0);
  Authorize({});
  CommandResult r =
      Replay("rsync --server -g -l -o -p -D -r -t -H . sub/", {"-aH", src_ + "/", Remote("sub/")});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  struct stat a, b;
  ASSERT_EQ(lstat((data_ + "/sub/a.txt").c_str(), &a), 0);
  ASSERT_EQ(lstat((data_ + "/sub/b.txt").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "hard link not kept";
}

TEST_P(Openrsync, ReadOnlyStillRefusesWhatDeletesOnTheServer) {
  MakeEscapeTree();
  Authorize({"-ro"});
  ExpectRefused(Rsync({"-a", "--remove-source-files", Remote("/"), dest_ + "/"}),
                "option --remove-source-files has been disabled on this server.");
  ExpectRefused(Replay("rsync --server --delete-before -g -l -o -p -D -r -t . /",
                       {"-a", "--delete", src_ + "/", Remote("/")}),
                "sending to read-only server is not allowed");
  Authorize({"-no-del"});
  ExpectRefused(Replay("rsync --server --delete-before -g -l -o -p -D -r -t . /",
                       {"-a", "--delete", src_ + "/", Remote("/")}),
                "option --delete-before has been disabled on this server.");
  ExpectRefused(
      Replay("rsync --server --sender --copy-links . /", {"-a", Remote("/"), dest_ + "/"}),
      "option --copy-links has been disabled on this server.");
}

// The real openrsync: from -DRRSYNC_OPENRSYNC_BINARY=PATH, else /usr/local/bin/openrsync.
TEST_P(Openrsync, RealClientPullsAndPushes) {
  std::string binary = OPENRSYNC_BINARY;
  if (binary.empty()) binary = "/usr/local/bin/openrsync";
  if (access(binary.c_str(), X_OK) != 0)
    GTEST_SKIP() << "no openrsync at " << binary << " (configure with -DRRSYNC_OPENRSYNC_BINARY=)";
  std::string err;
  const std::string openrsync = sshd_->InstallExecutable(binary, &err);
  ASSERT_FALSE(openrsync.empty()) << err;
  const std::string ssh = "ssh -F " + sshd_->ConfigPath(account_);
  MakeTree();
  Put(dest_ + "/stale.txt", "stale\n");
  const auto before = Snapshot(data_);
  Authorize({"-ro"});

  CommandResult pull =
      e2e::Run(account_, {openrsync, "-e", ssh, "-a", "--delete", Remote("/"), dest_ + "/"});
  ASSERT_EQ(pull.exit_code, 0) << pull.Describe();
  EXPECT_EQ(ReadFile(dest_ + "/sub/b.txt"), "b\n");
  EXPECT_FALSE(fs::exists(dest_ + "/stale.txt"));
  EXPECT_EQ(DiffTrees(before, Snapshot(data_)), "");

  const std::string relative_dest = root_ + "/relative";
  MakeDir(relative_dest);
  CommandResult relative =
      e2e::Run(account_, {openrsync, "-e", ssh, "-R", Remote("/sub/b.txt"), relative_dest + "/"});
  ASSERT_EQ(relative.exit_code, 0) << relative.Describe();
  EXPECT_EQ(ReadFile(relative_dest + "/sub/b.txt"), "b\n");

  Authorize({});
  Put(src_ + "/new.txt", "new\n");
  ASSERT_EQ(link((src_ + "/new.txt").c_str(), (src_ + "/same.txt").c_str()), 0);
  CommandResult push =
      e2e::Run(account_, {openrsync, "-e", ssh, "-aH", src_ + "/", Remote("sub/")});
  ASSERT_EQ(push.exit_code, 0) << push.Describe();
  struct stat a, b;
  ASSERT_EQ(lstat((data_ + "/sub/new.txt").c_str(), &a), 0);
  ASSERT_EQ(lstat((data_ + "/sub/same.txt").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "hard link not kept";
}

INSTANTIATE_TEST_SUITE_P(Accounts, Openrsync, ::testing::Values(Who::kRoot, Who::kUser), WhoName);

}  // namespace
}  // namespace rrsync::e2e
