// rsync's secluded arguments (-s): reading them from stdin exactly (src/secluded_args.h) and
// turning them into the plain command that Decide judges (src/secluded_command.h).
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "secluded_args.h"
#include "secluded_command.h"
#include "server_command.h"
#include "unique_fd.h"

namespace rrsync {
namespace {

using Words = std::vector<std::string>;
using namespace std::chrono_literals;

// The bytes of a literal that holds NULs, without the terminating one.
template <size_t N>
std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

// What `rsync -a --delete src/ host:dst/` sends on stdin, then the protocol's first bytes (its
// version, 32, as four little-endian bytes), as captured from rsync 3.5.0.
const std::string kPushArgs = Bytes("rsync\0--delete\0.\0dst/\0\0");
const std::string kProtocol = Bytes(" \0\0\0");

// A pipe holding `bytes`, its write end closed unless `keep_open`.
struct Pipe {
  UniqueFd read_end, write_end;
};
Pipe PipeWith(const std::string& bytes, bool keep_open = false) {
  int fds[2];
  EXPECT_EQ(pipe2(fds, O_CLOEXEC), 0);
  Pipe p{UniqueFd(fds[0]), UniqueFd(fds[1])};
  EXPECT_EQ(write(p.write_end.get(), bytes.data(), bytes.size()),
            static_cast<ssize_t>(bytes.size()));
  if (!keep_open) p.write_end.Reset();
  return p;
}

// Everything left to read on `fd` until end of file.
std::string Rest(int fd) {
  std::string rest;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) rest.append(buf, static_cast<size_t>(n));
  return rest;
}

// The refusal for reading `bytes` with `limits`, or "read" when the words were read. A thread
// writes them into a socket, which holds less than the largest of them, and then closes it.
std::string ReadError(const std::string& bytes, SecludedArgsLimits limits = {}) {
  int fds[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd ours(fds[0]), client(fds[1]);
  std::thread writer([&] {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = send(client.get(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;  // the reader stopped and shut its end
      sent += static_cast<size_t>(n);
    }
    shutdown(client.get(), SHUT_WR);
  });
  Words words;
  std::string err;
  bool ok = ReadSecludedArgs(ours.get(), limits, &words, &err);
  shutdown(ours.get(), SHUT_RDWR);
  writer.join();
  return ok ? "read" : err;
}

TEST(ReadSecludedArgs, ReadsTheWordsAndLeavesTheProtocol) {
  Pipe p = PipeWith(kPushArgs + kProtocol + "more");
  Words words;
  std::string err;
  ASSERT_TRUE(ReadSecludedArgs(p.read_end.get(), {}, &words, &err)) << err;
  EXPECT_EQ(words, (Words{"rsync", "--delete", ".", "dst/"}));
  EXPECT_EQ(Rest(p.read_end.get()), kProtocol + "more");
}

TEST(ReadSecludedArgs, ReadsNothingPastTheEndOnASocket) {
  // sshd may hand over a socket; the protocol may already be there, in the same segment.
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  UniqueFd ours(fds[0]), client(fds[1]);
  std::string bytes = kPushArgs + kProtocol;
  ASSERT_EQ(write(client.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  client.Reset();
  Words words;
  std::string err;
  ASSERT_TRUE(ReadSecludedArgs(ours.get(), {}, &words, &err)) << err;
  EXPECT_EQ(words.size(), 4u);
  EXPECT_EQ(Rest(ours.get()), kProtocol);
}

TEST(ReadSecludedArgs, WaitsForWordsThatArriveInPieces) {
  Pipe p = PipeWith(Bytes("rsync\0-"), /*keep_open=*/true);
  std::thread writer([&] {
    for (char c : Bytes("-delete\0.\0x y\0\0 ")) {
      std::this_thread::sleep_for(2ms);
      ASSERT_EQ(write(p.write_end.get(), &c, 1), 1);
    }
  });
  Words words;
  std::string err;
  bool ok = ReadSecludedArgs(p.read_end.get(), {}, &words, &err);
  writer.join();
  p.write_end.Reset();
  ASSERT_TRUE(ok) << err;
  EXPECT_EQ(words, (Words{"rsync", "--delete", ".", "x y"}));
  EXPECT_EQ(Rest(p.read_end.get()), " ");
}

TEST(ReadSecludedArgs, WorksOnANonBlockingDescriptor) {
  Pipe p = PipeWith(kPushArgs + kProtocol);
  ASSERT_EQ(fcntl(p.read_end.get(), F_SETFL, O_NONBLOCK), 0);
  Words words;
  std::string err;
  ASSERT_TRUE(ReadSecludedArgs(p.read_end.get(), {}, &words, &err)) << err;
  EXPECT_EQ(words.size(), 4u);
  EXPECT_EQ(Rest(p.read_end.get()), kProtocol);
}

TEST(ReadSecludedArgs, RefusesEndOfFileBeforeTheEnd) {
  const std::string eof = "secluded args: the client closed the connection before their end";
  EXPECT_EQ(ReadError(""), eof);
  EXPECT_EQ(ReadError(Bytes("rsync\0.\0dst/")), eof);
  EXPECT_EQ(ReadError(Bytes("rsync\0.\0")), eof);
  // An empty word first is the end: no words at all (ComposeSecludedCommand refuses that).
  EXPECT_EQ(ReadError(Bytes("\0")), "read");
}

TEST(ReadSecludedArgs, RefusesAClientThatSendsNothingInTime) {
  Pipe p = PipeWith(Bytes("rsync\0."), /*keep_open=*/true);
  Words words;
  std::string err;
  SecludedArgsLimits limits;
  limits.timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(ReadSecludedArgs(p.read_end.get(), limits, &words, &err));
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(err, "secluded args: the client did not send them within 200 ms");
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 5s);
  limits.timeout = 1s;
  EXPECT_FALSE(ReadSecludedArgs(p.read_end.get(), limits, &words, &err));
  EXPECT_EQ(err, "secluded args: the client did not send them within 1 s");
}

TEST(ReadSecludedArgs, TheTimeoutCoversTheWholeListNotEachByte) {
  // A client trickling one byte every 50 ms never idles for the timeout, but takes longer.
  Pipe p = PipeWith("r", /*keep_open=*/true);
  std::atomic<bool> stop = false;
  std::thread writer([&] {
    while (!stop) {
      std::this_thread::sleep_for(50ms);
      if (write(p.write_end.get(), "x", 1) != 1) return;
    }
  });
  Words words;
  std::string err;
  SecludedArgsLimits limits;
  limits.timeout = 300ms;
  EXPECT_FALSE(ReadSecludedArgs(p.read_end.get(), limits, &words, &err));
  stop = true;
  writer.join();
  EXPECT_EQ(err, "secluded args: the client did not send them within 300 ms");
}

TEST(ReadSecludedArgs, BoundsTheNumberOfWords) {
  SecludedArgsLimits limits;
  limits.max_words = 3;
  EXPECT_EQ(ReadError(Bytes("rsync\0.\0a\0\0"), limits), "read");
  EXPECT_EQ(ReadError(Bytes("rsync\0.\0a\0b\0\0"), limits),
            "secluded args: more than 3 of them");
  std::string many = "rsync";
  for (int i = 0; i < 5000; ++i) many += Bytes("\0a");
  EXPECT_EQ(ReadError(many + Bytes("\0\0")), "secluded args: more than 4096 of them");
}

TEST(ReadSecludedArgs, BoundsEachWord) {
  EXPECT_EQ(ReadError("rsync" + std::string(1, '\0') + std::string(4095, 'a') +
                      Bytes("\0\0")),
            "read");
  EXPECT_EQ(ReadError("rsync" + std::string(1, '\0') + std::string(4096, 'a') +
                      Bytes("\0\0")),
            "secluded args: one is longer than 4095 bytes");
}

TEST(ReadSecludedArgs, BoundsTheTotal) {
  SecludedArgsLimits limits;
  limits.max_total_bytes = 12;  // "rsync\0" "abcd\0" "\0"
  EXPECT_EQ(ReadError(Bytes("rsync\0abcd\0\0"), limits), "read");
  EXPECT_EQ(ReadError(Bytes("rsync\0abcde\0\0"), limits),
            "secluded args: more than 12 bytes");
  // The default: 1 MiB, whatever the words' sizes.
  std::string big = "rsync";
  for (int i = 0; i < 300; ++i) big += std::string(1, '\0') + std::string(4000, 'a');
  EXPECT_EQ(ReadError(big + Bytes("\0\0")), "secluded args: more than 1048576 bytes");
}

TEST(ReadSecludedArgs, KeepsAnyByteButNul) {
  Pipe p = PipeWith(Bytes("rsync\0\xff\x01\n\\ \0\0"));
  Words words;
  std::string err;
  ASSERT_TRUE(ReadSecludedArgs(p.read_end.get(), {}, &words, &err)) << err;
  EXPECT_EQ(words, (Words{"rsync", "\xff\x01\n\\ "}));
}

TEST(ReadSecludedArgs, RefusesAClosedDescriptor) {
  Words words;
  std::string err;
  EXPECT_FALSE(ReadSecludedArgs(999, {}, &words, &err));
  EXPECT_EQ(err, "secluded args: stdin is not open");
}

// ---------------------------------------------------------------------------------------------

TEST(AsksForSecludedArgs, WhenTheFirstClusterHoldsS) {
  EXPECT_TRUE(AsksForSecludedArgs("rsync --server -slogDtpre.iLsfxCIvu"));
  EXPECT_TRUE(AsksForSecludedArgs("rsync --server --sender -svlogDtpre.iLsfxCIvu --iconv=utf8"));
  EXPECT_TRUE(AsksForSecludedArgs("rsync --server --sender -s"));
  EXPECT_TRUE(AsksForSecludedArgs("rsync --server -vs ."));
}

TEST(AsksForSecludedArgs, NotForAnSElsewhere) {
  // The capability letters after "e" are not options.
  EXPECT_FALSE(AsksForSecludedArgs("rsync --server -logDtpre.iLsfxCIvu . x"));
  EXPECT_FALSE(AsksForSecludedArgs("rsync --server --sender -v -s . x"));
  EXPECT_FALSE(AsksForSecludedArgs("rsync --server --secluded-args . x"));
  EXPECT_FALSE(AsksForSecludedArgs("rsync --server --protect-args . x"));
  EXPECT_FALSE(AsksForSecludedArgs("rsync --server --sender\t-s . x"));
  EXPECT_FALSE(AsksForSecludedArgs("rsync --server"));
  EXPECT_FALSE(AsksForSecludedArgs("rsync  --server -s"));
  EXPECT_FALSE(AsksForSecludedArgs("/usr/bin/rsync --server -s"));
  EXPECT_FALSE(AsksForSecludedArgs("true"));
  EXPECT_FALSE(AsksForSecludedArgs(""));
}

TEST(EscapeServerWord, SplittingGivesTheWordBack) {
  for (const std::string& word :
       {std::string("plain"), std::string("x y"), std::string("a\\b"), std::string("end\\"),
        std::string("\\ \\"), std::string("tab\there"), std::string("nbsp\xc2\xa0word"),
        std::string("em\xe2\x80\x83space"), std::string("caf\xc3\xa9"), std::string("\xff\x85"),
        std::string("ctl\x1c\r\x0b"), std::string("*.txt"), std::string("--x=a b")}) {
    std::string escaped = EscapeServerWord(word);
    std::vector<std::string> split = SplitServerWords(escaped);
    ASSERT_EQ(split.size(), 1u) << escaped;
    EXPECT_EQ(RemoveBackslashes(split[0]), word) << escaped;
  }
  EXPECT_EQ(EscapeServerWord("a b\\c"), "a\\ b\\\\c");
}

std::string Composed(const std::string& command, const Words& secluded) {
  std::string composed, err;
  if (!ComposeSecludedCommand(command, secluded, &composed, &err)) return "refused: " + err;
  return composed;
}

TEST(ComposeSecludedCommand, PutsTheSecludedWordsWhereTheClientTookThemFrom) {
  EXPECT_EQ(Composed("rsync --server -slogDtpre.iLsfxCIvu", {"rsync", "--delete", ".", "dst/"}),
            "rsync --server -logDtpre.iLsfxCIvu --delete . dst/");
  EXPECT_EQ(Composed("rsync --server --sender -svlogDtpre.iLsfxCIvu --iconv=utf8",
                     {"rsync", ".", "dst/x y", "dst/caf\xc3\xa9"}),
            "rsync --server --sender -vlogDtpre.iLsfxCIvu --iconv=utf8 . dst/x\\ y "
            "dst/caf\xc3\xa9");
  EXPECT_EQ(Composed("rsync --server --sender -s", {"rsync", ".", "."}),
            "rsync --server --sender . .");
  EXPECT_EQ(Composed("rsync --server -sse.iLsfxCIvu", {"rsync", ".", "a"}),
            "rsync --server -e.iLsfxCIvu . a");
}

TEST(ComposeSecludedCommand, KeepsAnSmuggledInTheSecludedWordsForDecideToRefuse) {
  // Decide refuses -s and the long forms: rsync, run with them, would read unchecked arguments.
  EXPECT_EQ(Composed("rsync --server -slogDtpre.iLsfxCIvu", {"rsync", "-s", ".", "x"}),
            "rsync --server -logDtpre.iLsfxCIvu -s . x");
  EXPECT_EQ(Composed("rsync --server -s", {"rsync", "--protect-args", ".", "x"}),
            "rsync --server --protect-args . x");
}

TEST(ComposeSecludedCommand, RefusesWhatNoClientSends) {
  EXPECT_EQ(Composed("rsync --server -s . x", {"rsync", ".", "y"}),
            "refused: secluded args: the command line holds a \".\" (with -s, the arguments "
            "come on stdin)");
  EXPECT_EQ(Composed("rsync --server -s", {}),
            "refused: secluded args: the first one is not \"rsync\"");
  EXPECT_EQ(Composed("rsync --server -s", {"sh", ".", "x"}),
            "refused: secluded args: the first one is not \"rsync\"");
  EXPECT_EQ(Composed("rsync --server -s", {"rsync", ".", "a\nb"}),
            "refused: secluded args: an argument holds a newline: a\nb");
  EXPECT_EQ(Composed("ls -s", {"rsync"}),
            "refused: secluded args: the command is not an rsync server command");
}

TEST(ComposeSecludedCommand, IconvOnlyToUtf8ForNonAsciiWords) {
  EXPECT_EQ(Composed("rsync --server -s --iconv=UTF-8", {"rsync", ".", "caf\xc3\xa9"}),
            "rsync --server --iconv=UTF-8 . caf\xc3\xa9");
  EXPECT_EQ(Composed("rsync --server -s --iconv=latin1", {"rsync", ".", "cafe"}),
            "rsync --server --iconv=latin1 . cafe");
  EXPECT_EQ(Composed("rsync --server -s --iconv=latin1", {"rsync", ".", "caf\xc3\xa9"}),
            "refused: secluded args: --iconv=latin1 with non-ASCII arguments (rrsync passes them "
            "on as UTF-8; use a UTF-8 server charset or no -s)");
}

}  // namespace
}  // namespace rrsync
