// `rrsync --version` (issue 14 item 6): the admin's question on rrsync's own command line, never
// a client's through SSH_ORIGINAL_COMMAND.
#include <gtest/gtest.h>

#include "admin_test_util.h"

namespace rrsync {
namespace {

using admin_test::RunCommand;
using admin_test::ScratchDir;
using admin_test::Shell;

TEST(RrsyncVersion, PrintsOneLineAndExitsZero) {
  ProcessResult r = RunCommand({RRSYNC_BINARY, "--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, std::string("rrsync ") + RRSYNC_VERSION + "\n");
  EXPECT_EQ(r.err, "");
}

TEST(RrsyncVersion, NeverFromTheClientsCommand) {
  ScratchDir scratch;
  for (const char* command : {"--version", "rrsync --version", "rsync --version"}) {
    ProcessResult r = Shell("SSH_ORIGINAL_COMMAND='" + std::string(command) + "' " + RRSYNC_BINARY +
                            " -ro " + scratch.path());
    EXPECT_NE(r.exit_code, 0) << command;
    EXPECT_EQ(r.out.find(RRSYNC_VERSION), std::string::npos) << command << ": " << r.out;
    EXPECT_EQ(r.err.rfind("rrsync error: ", 0), 0u) << command << ": " << r.err;
  }
  // Only as the whole command line: with anything beside it, it is an unknown flag.
  ProcessResult r = RunCommand({RRSYNC_BINARY, "--version", scratch.path()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("rrsync error: ", 0), 0u) << r.err;
}

}  // namespace
}  // namespace rrsync
