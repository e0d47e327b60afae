// The decision, one behaviour of the man page a test, on real trees in temp dirs.
#include "decision.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "path_resolution.h"
#include "test_support.h"

namespace rrsync {
namespace {

using testing::MakeDirs;
using testing::TempDir;
using testing::WriteFile;

constexpr char kPull[] = "rsync --server --sender -vlogDtpre.iLsfxCIvu . ";
constexpr char kPush[] = "rsync --server -vlogDtpre.iLsfxCIvu . ";

class DecisionTest : public ::testing::Test {
 protected:
  DecisionTest() {
    dir_ = NormalizePath(tmp_ / "dir");
    MakeDirs(dir_ + "/sub/deep");
    WriteFile(dir_ + "/file", "inside");
    WriteFile(dir_ + "/sub/a.txt", "a");
    WriteFile(dir_ + "/sub/b.txt", "b");
    WriteFile(dir_ + "/.hidden", "h");
    WriteFile(dir_ + "/with space", "s");
    WriteFile(tmp_ / "secret", "outside");
    symlink("sub", (dir_ + "/link_in").c_str());
    symlink("../secret", (dir_ + "/link_out").c_str());
    settings_.dir = dir_;
  }

  Decision DecideFor(const std::string& command, const std::string& dir = "") {
    DecisionInput input;
    input.settings = &settings_;
    input.dir = dir.empty() ? dir_ : dir;
    input.features = features_;
    input.command = command;
    return Decide(input, fs_);
  }

  // The refusal message, or "ran" when rsync would run.
  std::string Refusal(const std::string& command) {
    Decision d = DecideFor(command);
    return d.verdict == Verdict::kRefuse ? d.refusal : "ran";
  }

  // The words handed to rsync, pinned paths shown as {path|trailer}.
  std::string Words(const std::string& command, const std::string& dir = "") {
    Decision d = DecideFor(command, dir);
    if (d.verdict != Verdict::kRunRsync) return "refused: " + d.refusal;
    std::string out;
    for (const ServerWord& w : d.request.words) {
      if (!out.empty()) out += ' ';
      out += w.text;
      if (w.pin) out += "{" + w.pin->path + "|" + w.pin->trailer + "}";
    }
    return out;
  }

  TempDir tmp_;
  std::string dir_;
  Settings settings_;
  RsyncFeatures features_;
  RealFilesystem fs_;
};

TEST_F(DecisionTest, RefusesWithoutSshOriginalCommand) {
  DecisionInput input;
  input.settings = &settings_;
  input.dir = dir_;
  EXPECT_EQ(Decide(input, fs_).refusal, "Not invoked via sshd");
  EXPECT_EQ(Refusal(""), "Not invoked via sshd");
}

TEST_F(DecisionTest, TrueIsAConnectivityCheck) {
  EXPECT_EQ(DecideFor("true").verdict, Verdict::kConnectivityCheck);
  EXPECT_EQ(Refusal("true "), "SSH_ORIGINAL_COMMAND does not run rsync");
}

TEST_F(DecisionTest, AnswersTheProbe) {
  EXPECT_EQ(DecideFor("rrsync-probe v1; echo marker").verdict, Verdict::kProbe);
}

TEST_F(DecisionTest, RefusesOtherCommands) {
  EXPECT_EQ(Refusal("ls"), "SSH_ORIGINAL_COMMAND does not run rsync");
  EXPECT_EQ(Refusal("/usr/bin/rsync --server . x"), "SSH_ORIGINAL_COMMAND does not run rsync");
  EXPECT_EQ(Refusal("rsync"), "--server option is not the first arg");
  EXPECT_EQ(Refusal("rsync --sender --server . x"), "--server option is not the first arg");
  EXPECT_EQ(Refusal("rsync  --server . x"), "--server option is not the first arg");
  EXPECT_EQ(Refusal("rsync --server"), "invalid rsync-command syntax or options");
}

TEST_F(DecisionTest, ReadOnlyRefusesPush) {
  settings_.access = Access::kReadOnly;
  EXPECT_EQ(Refusal(std::string(kPush) + "x"), "sending to read-only server is not allowed");
  EXPECT_EQ(Refusal(std::string(kPull) + "file"), "ran");
}

TEST_F(DecisionTest, WriteOnlyRefusesPull) {
  settings_.access = Access::kWriteOnly;
  EXPECT_EQ(Refusal(std::string(kPull) + "file"), "reading from write-only server is not allowed");
  EXPECT_EQ(Refusal(std::string(kPush) + "x"), "ran");
}

TEST_F(DecisionTest, SenderOnlyRightAfterServer) {
  EXPECT_EQ(Refusal("rsync --server -v --sender . file"),
            "option --sender has been disabled on this server.");
}

TEST_F(DecisionTest, UnknownOptionIsInvalidSyntax) {
  EXPECT_EQ(Refusal("rsync --server --sender --bogus . file"),
            "invalid rsync-command syntax or options");
  EXPECT_EQ(Refusal("rsync --server --sender -vZ . file"), "invalid rsync-command syntax or options");
  EXPECT_EQ(Refusal("rsync --server --sender -v file"), "invalid rsync-command syntax or options");
  EXPECT_EQ(Refusal("rsync --server --sender -B . file"), "invalid rsync-command syntax or options");
  EXPECT_EQ(Refusal("rsync --server --sender -ve . file"), "invalid rsync-command syntax or options");
  EXPECT_EQ(Refusal("rsync --server --sender --del . file"),
            "invalid rsync-command syntax or options");
}

TEST_F(DecisionTest, DisabledOptionsAreNamed) {
  for (const char* option : {"debug", "daemon", "copy-devices", "write-devices", "no-munge-links"}) {
    EXPECT_EQ(Refusal(std::string("rsync --server --sender --") + option + " . file"),
              std::string("option --") + option + " has been disabled on this server.");
  }
  EXPECT_EQ(Refusal("rsync --server --sender --debug=ALL . file"),
            "option --debug has been disabled on this server.");
  EXPECT_EQ(Refusal("rsync --server --sender -vs . file"), "option -s has been disabled on this server.");
}

TEST_F(DecisionTest, SymlinkFollowingOptionsOnlyAtRoot) {
  EXPECT_EQ(Refusal("rsync --server --sender -vLe.x . file"),
            "option -L has been disabled on this server.");
  EXPECT_EQ(Refusal("rsync --server --sender -vK . file"), "option -K has been disabled on this server.");
  EXPECT_EQ(Refusal("rsync --server --sender -k . file"), "option -k has been disabled on this server.");
  EXPECT_EQ(Refusal("rsync --server --sender --copy-unsafe-links . file"),
            "option --copy-unsafe-links has been disabled on this server.");
  EXPECT_EQ(Words("rsync --server --sender -vLKk --copy-unsafe-links . file", "/"),
            "--server --sender -vLKk --copy-unsafe-links -- . file");
}

TEST_F(DecisionTest, ShortOptionsWithNumbers) {
  EXPECT_EQ(Words("rsync --server --sender -B1024 -@-1 . file"),
            "refused: invalid rsync-command syntax or options");
  EXPECT_EQ(Words("rsync --server --sender -B1024 -@1 . /file"),
            "--server --sender -B1024 -@1 --confine-root=" + dir_ + " -- . {" + dir_ + "/file|}");
}

TEST_F(DecisionTest, NoDeleteRefusesDeleteAndRemove) {
  EXPECT_EQ(Refusal(std::string("rsync --server --delete-after -v . x")), "ran");
  settings_.no_delete = true;
  for (const char* option : {"delete", "delete-after", "delete-excluded", "delete-missing-args",
                             "remove-source-files", "remove-sent-files"}) {
    EXPECT_EQ(Refusal(std::string("rsync --server --") + option + " . x"),
              std::string("option --") + option + " has been disabled on this server.");
  }
}

// openrsync (macOS's rsync) spells out the short options and sends --delete-before to the sender
// of a pull (README, differences 11 and 12). The exact commands it sends for `-a --delete
// server:/ backup/`, `-R server:/a/b backup/` and `-aH src/ server:dst/`:
constexpr char kOpenrsyncPullDelete[] =
    "rsync --server --sender --delete-before -g -l -o -p -D -r -t . /";
constexpr char kOpenrsyncPullRelative[] = "rsync --server --sender --relative . /sub/a.txt";
constexpr char kOpenrsyncPushHardLinks[] = "rsync --server -g -l -o -p -D -r -t -H . sub/";

TEST_F(DecisionTest, LongNamesOfAllowedShortOptions) {
  for (const char* option :
       {"acls", "atimes", "backup", "checksum", "compress", "crtimes", "cvs-exclude", "dry-run",
        "executability", "omit-dir-times", "omit-link-times", "prune-empty-dirs", "quiet",
        "relative", "sparse", "update", "verbose", "whole-file", "xattrs", "ignore-non-existing"}) {
    EXPECT_EQ(Refusal(std::string("rsync --server --sender --") + option + " . file"), "ran")
        << option;
    EXPECT_EQ(Refusal(std::string("rsync --server --") + option + " . x"), "ran") << option;
  }
  EXPECT_EQ(Words("rsync --server --sender --verbose --compress . file"),
            "--server --sender --verbose --compress --confine-root=" + dir_ + " -- . {file|}");
}

TEST_F(DecisionTest, LongNamesAreRefusedWhereTheShortFormIs) {
  EXPECT_EQ(Refusal("rsync --server --sender --copy-links . file"),
            "option --copy-links has been disabled on this server.");
  EXPECT_EQ(Refusal("rsync --server --sender --copy-dirlinks . file"),
            "option --copy-dirlinks has been disabled on this server.");
  EXPECT_EQ(Refusal("rsync --server --keep-dirlinks . x"),
            "option --keep-dirlinks has been disabled on this server.");
  EXPECT_EQ(Words("rsync --server --sender --copy-links --copy-dirlinks --keep-dirlinks . file", "/"),
            "--server --sender --copy-links --copy-dirlinks --keep-dirlinks -- . file");
  EXPECT_EQ(Refusal("rsync --server --backup . x"), "ran");
  settings_.no_overwrite = true;
  EXPECT_EQ(Refusal("rsync --server --backup . x"), "option --backup has been disabled on this server.");
  // Still no other spelling of -s, and no abbreviations.
  EXPECT_EQ(Refusal("rsync --server --sender --secluded-args . file"),
            "invalid rsync-command syntax or options");
  EXPECT_EQ(Refusal("rsync --server --sender --protect-args . file"),
            "invalid rsync-command syntax or options");
  EXPECT_EQ(Refusal("rsync --server --sender --rel . file"), "invalid rsync-command syntax or options");
}

TEST_F(DecisionTest, RelativeLongNameDecidesHowPathsArePinned) {
  EXPECT_TRUE(DecideFor(kOpenrsyncPullRelative).request.relative);
  EXPECT_FALSE(DecideFor("rsync --server --sender --relative --no-relative . file").request.relative);
  EXPECT_TRUE(DecideFor("rsync --server --sender --no-relative --relative . file").request.relative);
}

TEST_F(DecisionTest, ReadOnlyPullKeepsDeleteOptionsButNotRemove) {
  settings_.access = Access::kReadOnly;
  settings_.no_delete = true;  // as -ro implies
  for (const char* option : {"delete", "delete-after", "delete-before", "delete-delay",
                             "delete-during", "delete-excluded", "delete-missing-args"}) {
    EXPECT_EQ(Refusal(std::string("rsync --server --sender --") + option + " . file"), "ran")
        << option;
  }
  for (const char* option : {"remove-source-files", "remove-sent-files"}) {
    EXPECT_EQ(Refusal(std::string("rsync --server --sender --") + option + " . file"),
              std::string("option --") + option + " has been disabled on this server.");
  }
}

TEST_F(DecisionTest, NoDeletePushStillRefusesDelete) {
  settings_.no_delete = true;
  EXPECT_EQ(Refusal("rsync --server --sender --delete-before . file"), "ran");
  EXPECT_EQ(Refusal("rsync --server --delete-before -g -l -o -p -D -r -t . sub/"),
            "option --delete-before has been disabled on this server.");
  // "--sender" anywhere but right after "--server" does not make a pull.
  EXPECT_EQ(Refusal("rsync --server --delete --sender . file"),
            "option --delete has been disabled on this server.");
}

TEST_F(DecisionTest, OpenrsyncCommandsUnderReadOnly) {
  settings_.access = Access::kReadOnly;
  settings_.no_delete = true;
  EXPECT_EQ(Words(kOpenrsyncPullDelete),
            "--server --sender --delete-before -g -l -o -p -D -r -t --confine-root=" + dir_ +
                " -- . {" + dir_ + "|/}");
  EXPECT_EQ(Words(kOpenrsyncPullRelative),
            "--server --sender --relative --confine-root=" + dir_ + " -- . {" + dir_ +
                "/sub/a.txt|}");
  EXPECT_EQ(Refusal(kOpenrsyncPushHardLinks), "sending to read-only server is not allowed");
  settings_.access = Access::kReadWrite;
  settings_.no_delete = false;
  EXPECT_EQ(Words(kOpenrsyncPushHardLinks),
            "--server -g -l -o -p -D -r -t -H --drop-D --confine-root=" + dir_ + " -- . {sub|/}");
}

TEST_F(DecisionTest, ReadOnlyRefusesLogFile) {
  EXPECT_EQ(Words("rsync --server --sender --log-file=log . file"),
            "--server --sender --log-file={log|} --confine-root=" + dir_ + " -- . {file|}");
  settings_.access = Access::kReadOnly;
  EXPECT_EQ(Refusal("rsync --server --sender --log-file=log . file"),
            "option --log-file has been disabled on this server.");
}

TEST_F(DecisionTest, NoOverwriteRefusesWhatReplacesFilesAndAddsIgnoreExisting) {
  settings_.no_overwrite = true;
  for (const char* option : {"log-file=x", "partial-dir=x", "delay-updates", "backup-dir=x"}) {
    std::string name = std::string(option).substr(0, std::string(option).find('='));
    EXPECT_EQ(Refusal(std::string("rsync --server --") + option + " . x"),
              "option --" + name + " has been disabled on this server.");
  }
  EXPECT_EQ(Refusal("rsync --server -vb . x"), "option -b has been disabled on this server.");
  EXPECT_EQ(Words(std::string(kPush) + "x"),
            "--server -vlogDtpre.iLsfxCIvu --drop-D --confine-root=" + dir_ +
                " --ignore-existing -- . {x|}");
}

TEST_F(DecisionTest, AddsDropDOnlyWhenReceivingBelowRoot) {
  EXPECT_EQ(Words(std::string(kPush) + "x"),
            "--server -vlogDtpre.iLsfxCIvu --drop-D --confine-root=" + dir_ + " -- . {x|}");
  EXPECT_EQ(Words(std::string(kPull) + "file"),
            "--server --sender -vlogDtpre.iLsfxCIvu --confine-root=" + dir_ + " -- . {file|}");
  EXPECT_EQ(Words(std::string(kPush) + "x", "/"), "--server -vlogDtpre.iLsfxCIvu -- . x");
}

TEST_F(DecisionTest, OmitsWhatAnOldRsyncLacks) {
  features_.drop_devices = false;
  features_.confine_root = false;
  Decision d = DecideFor(std::string(kPush) + "x");
  ASSERT_EQ(d.verdict, Verdict::kRunRsync);
  EXPECT_EQ(d.request.omitted, (std::vector<std::string>{"--drop-D", "--confine-root"}));
  EXPECT_EQ(Words(std::string(kPush) + "x"), "--server -vlogDtpre.iLsfxCIvu -- . {x|}");
}

TEST_F(DecisionTest, MungeAddsMungeLinks) {
  settings_.munge_links = true;
  EXPECT_EQ(Words(std::string(kPull) + "file", "/"),
            "--server --sender -vlogDtpre.iLsfxCIvu --munge-links -- . file");
}

TEST_F(DecisionTest, LeadingSlashIsTheRootOfDir) {
  EXPECT_EQ(Words(std::string(kPull) + "/"),
            "--server --sender -vlogDtpre.iLsfxCIvu --confine-root=" + dir_ + " -- . {" + dir_ + "|/}");
  EXPECT_EQ(Words(std::string(kPull) + "///sub/a.txt"),
            "--server --sender -vlogDtpre.iLsfxCIvu --confine-root=" + dir_ + " -- . {" + dir_ +
                "/sub/a.txt|}");
}

TEST_F(DecisionTest, RefusesDotDot) {
  EXPECT_EQ(Refusal(std::string(kPull) + "../secret"),
            "do not use .. in arg (anchor the path at the root of your restricted dir)");
  EXPECT_EQ(Refusal(std::string(kPull) + "sub/../../secret"),
            "do not use .. in arg (anchor the path at the root of your restricted dir)");
  EXPECT_EQ(Refusal("rsync --server --partial-dir=../p . x"),
            "do not use .. in --partial-dir (anchor the path at the root of your restricted dir)");
  // Upstream tidies every option argument as a path, so ".." is refused even in --suffix.
  EXPECT_EQ(Refusal("rsync --server --suffix=.. . x"),
            "do not use .. in --suffix (anchor the path at the root of your restricted dir)");
  EXPECT_EQ(Refusal(std::string(kPull) + "..foo"), "ran");
  // Only a whole ".." component counts, wherever it is.
  for (const char* arg : {"sub/..", "sub/../file", "sub//..//file", "/.."})
    EXPECT_EQ(Refusal(std::string(kPull) + arg),
              "do not use .. in arg (anchor the path at the root of your restricted dir)")
        << arg;
  for (const char* arg : {"...", ".../x", "sub/..x", "sub/x..", "x../sub"})
    EXPECT_EQ(Refusal(std::string(kPull) + arg), "ran") << arg;
}

TEST_F(DecisionTest, RefusesSymlinksLeadingOut) {
  EXPECT_EQ(Refusal(std::string(kPull) + "link_out"),
            "unsafe arg: link_out ['link_out', '" + NormalizePath(tmp_ / "secret") + "']");
  EXPECT_EQ(Refusal(std::string(kPull) + "link_in/a.txt"), "ran");
  EXPECT_EQ(Refusal("rsync --server --files-from=link_out . x"),
            "unsafe arg: link_out ['link_out', '" + NormalizePath(tmp_ / "secret") + "']");
}

TEST_F(DecisionTest, ChecksReceiverPathsOnlyWhenReceiving) {
  // On a pull the receiver options are the client's business and pass unchecked.
  EXPECT_EQ(Words("rsync --server --sender --partial-dir=link_out . file"),
            "--server --sender --partial-dir=link_out --confine-root=" + dir_ + " -- . {file|}");
  EXPECT_EQ(Refusal("rsync --server --partial-dir=link_out . x"),
            "unsafe arg: link_out ['link_out', '" + NormalizePath(tmp_ / "secret") + "']");
  EXPECT_EQ(Words("rsync --server --partial-dir .p . x"),
            "--server --partial-dir {.p|} --drop-D --confine-root=" + dir_ + " -- . {x|}");
}

TEST_F(DecisionTest, ExpandsGlobsInsideDir) {
  EXPECT_EQ(Words(std::string(kPull) + "sub/*.txt").find("{sub/a.txt|}") != std::string::npos, true);
  EXPECT_EQ(Words(std::string(kPull) + "sub/*.txt").find("{sub/b.txt|}") != std::string::npos, true);
  // A glob that reaches a symlink leading out is refused like the symlink itself.
  EXPECT_EQ(Refusal(std::string(kPull) + "link_*").starts_with("unsafe arg: link_* ['link_out'"),
            true);
  // "*" does not match hidden names; no match keeps the pattern.
  EXPECT_EQ(Words(std::string(kPull) + ".h*").find("{.hidden|}") != std::string::npos, true);
  EXPECT_EQ(Words(std::string(kPull) + "nomatch*"),
            "--server --sender -vlogDtpre.iLsfxCIvu --confine-root=" + dir_ + " -- . {nomatch*|}");
}

TEST_F(DecisionTest, PinsPlainArgumentsWithTheirRealPaths) {
  // Existing or not, a name without glob characters is kept as the client spelled it, tidied
  // ("./" leaves a leading "/", the root of DIR).
  Decision d = DecideFor(std::string(kPull) +
                         "file missing sub/deep/ sub/. ./sub//a.txt link_in/b.txt with\\ space");
  ASSERT_EQ(d.verdict, Verdict::kRunRsync) << d.refusal;
  std::string pins;
  for (const ServerWord& w : d.request.words) {
    if (!w.pin) continue;
    EXPECT_EQ(w.text, "");
    EXPECT_EQ(w.pin->option, "arg");
    pins += w.pin->original + " {" + w.pin->path + "|" + w.pin->trailer + "} " +
            w.pin->real_path.substr(dir_.size()) + "\n";
  }
  EXPECT_EQ(pins,
            "file {file|} /file\n"
            "missing {missing|} /missing\n"
            "sub/deep/ {sub/deep|/} /sub/deep\n"
            "sub/. {sub|/.} /sub\n"
            "./sub//a.txt {" +
                dir_ + "/sub/a.txt|} /sub/a.txt\n" +
                "link_in/b.txt {link_in/b.txt|} /sub/b.txt\n"
                "with space {with space|} /with space\n");
}

TEST_F(DecisionTest, UnescapesNames) {
  EXPECT_EQ(Words(std::string(kPull) + "with\\ space"),
            "--server --sender -vlogDtpre.iLsfxCIvu --confine-root=" + dir_ +
                " -- . {with space|}");
}

TEST_F(DecisionTest, FilesFromStdin) {
  settings_.access = Access::kWriteOnly;
  EXPECT_EQ(Words("rsync --server --files-from=- --from0 . x"),
            "--server --files-from=- --from0 --drop-D --confine-root=" + dir_ + " -- . {x|}");
  EXPECT_EQ(Refusal("rsync --server --files-from=list . x"),
            "a write-only server cannot read a remote --files-from path");
}

TEST_F(DecisionTest, AbsoluteAcceptsDirsOwnPath) {
  EXPECT_EQ(Words(std::string(kPull) + dir_ + "/file"),
            "--server --sender -vlogDtpre.iLsfxCIvu --confine-root=" + dir_ + " -- . {" + dir_ +
                dir_ + "/file|}");
  settings_.absolute = true;
  Decision d = DecideFor(std::string(kPull) + dir_ + "/file");
  ASSERT_EQ(d.verdict, Verdict::kRunRsync);
  ASSERT_TRUE(d.request.words.back().pin);
  EXPECT_TRUE(d.request.words.back().pin->absolute_form);
  EXPECT_EQ(d.request.words.back().pin->path, dir_ + "/file");
}

TEST_F(DecisionTest, TracksRelative) {
  EXPECT_TRUE(DecideFor("rsync --server --sender -vRe.x . sub/./a.txt").request.relative);
  EXPECT_FALSE(DecideFor("rsync --server --sender -vR --no-relative . file").request.relative);
  EXPECT_FALSE(DecideFor(std::string(kPull) + "file").request.relative);
}

TEST_F(DecisionTest, NoArgumentsMeansDot) {
  EXPECT_EQ(Words("rsync --server --sender -v ."),
            "--server --sender -v --confine-root=" + dir_ + " -- . .");
}

TEST_F(DecisionTest, UncheckedArgumentsAreTidiedAsUpstream) {
  EXPECT_EQ(Words("rsync --server --sender --bwlimit=//100 --info=./x . file"),
            "--server --sender --bwlimit=" + dir_ + "/100 --info=" + dir_ + "/x --confine-root=" + dir_ +
                " -- . {file|}");
}

}  // namespace
}  // namespace rrsync
