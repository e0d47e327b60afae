// Throwaway system accounts owned by one test process, so that parallel test processes
// (ctest -j) never share, and never delete, each other's account.
//
// The account is named PREFIX-PID. It is created on first use, deleted when the process exits,
// and an account of a crashed process (its PID no longer running) is deleted by the next process
// that asks for one with the same prefix. Needs root (useradd, userdel); libc only.
#ifndef RRSYNC_TESTS_ACCOUNTS_PROCESS_ACCOUNT_H_
#define RRSYNC_TESTS_ACCOUNTS_PROCESS_ACCOUNT_H_

#include <string>
#include <vector>

namespace rrsync::test_accounts {

// The name this process's account with `prefix` has (or will have): PREFIX-PID.
std::string ProcessAccountName(const std::string& prefix);

// Makes sure PREFIX-PID exists: deletes the stale accounts of `prefix` first, then runs
// `useradd OPTIONS... PREFIX-PID` (retrying while another process holds the passwd lock) and
// arranges `userdel [-r] PREFIX-PID` at exit (-r when remove_home: the home is the account's
// own, made by useradd --create-home). Returns false and fills *err if it could not.
bool EnsureProcessAccount(const std::string& prefix,
                          const std::vector<std::string>& useradd_options, bool remove_home,
                          std::string* err);

// Deletes every PREFIX-N account whose process N is gone. A running N (or a PID reused by
// another process) keeps its account: the safe side, it is cleaned up on a later start.
// Also deletes the account named PREFIX itself, which older test code shared between processes
// (rrsync-e2e, rrsync-sandbox-test), unless a process still runs as its uid; its home only if it
// is the /var/lib/PREFIX that code made.
void RemoveStaleAccounts(const std::string& prefix, bool remove_home);

// Runs an account change (argv[0] absolute: useradd, usermod, userdel) with output to /dev/null,
// holding the lock that HoldAccountsStable's holders wait on, and retrying while another process
// holds the lock on /etc/passwd or /etc/group (status 1 or 10). Its last exit status, -1 if it
// did not run. For test code that manages accounts of its own (the admin tests' TestUser).
int ChangeAccounts(const std::vector<std::string>& argv);

// Keeps /etc/passwd and /etc/group as they are while this process runs, for tests whose
// outcome depends on those files' inodes (Landlock grants a sandboxed rsync the files by
// inode, so a parallel useradd's rewrite makes a read of them fail). Takes a shared lock that
// every account change of these helpers (EnsureProcessAccount, the deletions) waits for; this
// process's own changes set it aside and take it again. Held until exit.
void HoldAccountsStable();

// Runs argv (argv[0] absolute) with output to /dev/null; its exit status, -1 if it did not run.
int RunQuietly(const std::vector<std::string>& argv);

}  // namespace rrsync::test_accounts

#endif  // RRSYNC_TESTS_ACCOUNTS_PROCESS_ACCOUNT_H_
