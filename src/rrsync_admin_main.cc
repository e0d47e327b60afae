// rrsync-admin: sets up, checks and proves rrsync-restricted ssh logins.
#include <limits.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "admin_audit.h"
#include "admin_authorize.h"
#include "admin_keys.h"
#include "admin_probe.h"
#include "admin_process.h"
#include "admin_sessions.h"
#include "admin_snapshots.h"
#include "admin_ssh_config.h"

#ifndef RRSYNC_VERSION
#define RRSYNC_VERSION "unknown"
#endif

namespace rrsync {
namespace {

// Exit codes shared by every subcommand; probe adds its own (see ProbeVerdict).
enum ExitCode {
  kExitOk = 0,
  kExitFailed = 1,  // the operation failed, or audit found a FAIL
  kExitUsage = 2,
  kExitBusy = 3,  // prune: a push holds DIR's lock; nothing was changed
};

int Error(const std::string& message) {
  std::cerr << "rrsync-admin error: " << message << "\n";
  return kExitFailed;
}

// The rrsync installed beside this program: /usr/bin/rrsync for the packaged pair.
std::string DefaultRrsyncPath() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "/usr/bin/rrsync";
  std::string self(buf, static_cast<size_t>(n));
  return self.substr(0, self.rfind('/') + 1) + "rrsync";
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "server";
  std::string h = buf;
  return h;
}

std::string KeyBasename(const std::string& path) {
  std::string base = path.substr(path.rfind('/') + 1);
  if (base.size() > 4 && base.compare(base.size() - 4, 4, ".pub") == 0) {
    base.resize(base.size() - 4);
  }
  return base;
}

struct AuthorizeArgs {
  AuthorizeRequest request;
  std::string alias;
  std::string host;
};

int RunAuthorize(AuthorizeArgs& args) {
  AuthorizeOutcome outcome;
  std::string err;
  if (!Authorize(args.request, &outcome, &err)) return Error(err);
  const bool dry = args.request.dry_run;
  std::cout << outcome.line << "\n";
  const char* verb = "";
  switch (outcome.action) {
    case MergeAction::kAdded:
      verb = dry ? "would add the line to" : "added the line to";
      break;
    case MergeAction::kReplaced:
      verb = dry ? "would replace the line for this key in" : "replaced the line for this key in";
      break;
    case MergeAction::kUnchanged:
      verb = "the line is already in";
      break;
  }
  if (!outcome.loosened.empty()) {
    std::string what;
    for (const std::string& l : outcome.loosened) what += (what.empty() ? "" : ", ") + l;
    std::cerr << "rrsync-admin warning: the new line loosens the one it replaces for this key: "
              << what << "\n";
  }
  std::cout << "\n" << verb << " " << outcome.authorized_keys;
  if (outcome.removed_duplicates > 0) {
    std::cout << (dry ? " (would remove " : " (removed ") << outcome.removed_duplicates
              << " further line(s) for the same key)";
  }
  std::cout << "\n";
  if (!outcome.fingerprint.empty()) std::cout << "key: " << outcome.fingerprint << "\n";
  if (!outcome.diff.empty()) std::cout << "\n" << outcome.diff;
  if (outcome.generated) {
    std::cout << "generated a new ed25519 key without passphrase: " << args.request.generate_file
              << " (private) and " << args.request.generate_file << ".pub\n"
              << "copy the private key to the client (e.g. ~/.ssh/"
              << KeyBasename(args.request.generate_file) << ", mode 0600) and delete it here\n";
  }
  std::string key_name =
      args.request.generate_file.empty() ? args.request.key_file : args.request.generate_file;
  SshConfigSpec config;
  config.alias = args.alias.empty() ? HostName() + "-" + args.request.user : args.alias;
  config.host = args.host.empty() ? HostName() : args.host;
  config.user = args.request.user;
  config.key_file = "~/.ssh/" + KeyBasename(key_name);
  std::string stanza;
  if (!FormatSshConfigStanza(config, &stanza, &err)) {
    std::cout << "\n(no ssh config stanza: " << err << ")\n";
    return kExitOk;
  }
  std::cout << "\nOn the client, add to ~/.ssh/config:\n\n"
            << stanza << "\nthen check that rrsync holds the login before the first backup:\n\n"
            << "    rrsync-admin probe --expect-mode "
            << (args.request.spec.read_only    ? "read-only"
                : args.request.spec.write_only ? "write-only"
                                               : "read-write")
            << " " << config.alias << "\n";
  return kExitOk;
}

}  // namespace
}  // namespace rrsync

int main(int argc, char** argv) {
  using namespace rrsync;
  CLI::App app{"rrsync-admin " RRSYNC_VERSION
               ": set up, audit and probe rrsync-restricted ssh logins (see rrsync-admin(8))"};
  app.set_version_flag("--version", RRSYNC_VERSION);
  app.require_subcommand(1);

  AuthorizeArgs auth;
  auth.request.spec.rrsync_path = DefaultRrsyncPath();
  CLI::App* authorize = app.add_subcommand(
      "authorize",
      "Install a key for USER whose logins run only rrsync in DIR (restrict,command=\"rrsync ... "
      "DIR\"). Creates ~/.ssh and authorized_keys if missing, replaces an older line for the "
      "same key, keeps every other line. Prints the client's ssh config stanza.");
  authorize->add_option("--user", auth.request.user, "account the key logs in as")->required();
  authorize
      ->add_option("--dir", auth.request.dir,
                   "the restricted directory (must exist; relative to USER's home if not "
                   "absolute)")
      ->required();
  authorize->add_flag("--ro", auth.request.spec.read_only,
                      "read-only: the client may only download (rrsync -ro)");
  authorize->add_flag("--wo", auth.request.spec.write_only,
                      "write-only: the client may only upload (rrsync -wo)");
  authorize->add_flag("--no-del", auth.request.spec.no_delete,
                      "refuse rsync's --delete* and --remove* options (rrsync -no-del)");
  authorize->add_flag("--no-overwrite", auth.request.spec.no_overwrite,
                      "never overwrite existing files (rrsync -no-overwrite)");
  authorize->add_flag("--snapshots", auth.request.spec.snapshots,
                      "snapshot mode: each push lands in a new DIR/YYYY-MM-DDTHHMMSSZ, earlier "
                      "ones stay unchanged (rrsync -snapshots; prune with rrsync-admin prune)");
  authorize->add_flag("--munge", auth.request.spec.munge,
                      "munge symlinks on the server (rrsync -munge)");
  CLI::Option* key = authorize->add_option("--key", auth.request.key_file,
                                           "the client's public key file (FILE.pub)");
  CLI::Option* gen = authorize->add_option(
      "--generate", auth.request.generate_file,
      "create a new ed25519 key pair without passphrase at FILE and FILE.pub and use it");
  key->excludes(gen);
  authorize->add_option("--from", auth.request.spec.from,
                        "only accept the key from these hosts (sshd from=\"PATTERN-LIST\")");
  authorize->add_option("--comment", auth.request.spec.comment, "comment for the key line");
  authorize->add_flag("--dry-run", auth.request.dry_run, "print the line, change nothing");
  authorize
      ->add_option("--rrsync", auth.request.spec.rrsync_path,
                   "absolute path of rrsync in the forced command")
      ->capture_default_str();
  authorize->add_option("--sshd-config", auth.request.sshd_config,
                        "ask sshd about this sshd_config instead of the default (sshd -T -f FILE)");
  authorize->add_option("--sshd", auth.request.sshd, "the sshd binary")->capture_default_str();
  authorize->add_option("--alias", auth.alias,
                        "Host alias for the printed client stanza (default HOSTNAME-USER)");
  authorize->add_option("--host", auth.host,
                        "HostName for the printed client stanza (default this host's name)");

  AuditOptions audit_options;
  bool json = false;
  CLI::App* audit = app.add_subcommand(
      "audit",
      "Check this server: sshd -T settings, every authorized key of root and of the rrsync users, "
      "login shells, Landlock, rsync. Prints PASS/WARN/FAIL lines; exits 1 when any check fails.");
  audit->add_option("--user", audit_options.users,
                    "audit these users (repeatable; default: root and every user with an rrsync "
                    "key)");
  audit->add_flag("--json", json, "print the report as JSON");
  audit->add_option("--sshd-config", audit_options.sshd_config,
                    "audit this sshd_config instead of the default (sshd -T -f FILE)");
  audit->add_option("--sshd", audit_options.sshd, "the sshd binary")->capture_default_str();
  audit
      ->add_option("--passwd", audit_options.passwd,
                   "read accounts (home, shell) from this passwd file")
      ->capture_default_str();
  audit->add_option("--rsync", audit_options.rsync, "the rsync rrsync runs")->capture_default_str();

  std::string probe_host;
  std::vector<std::string> ssh_options;
  std::string ssh_binary = "ssh";
  std::string expect_mode;
  int timeout = 60;
  bool quiet = false;
  CLI::App* probe = app.add_subcommand(
      "probe",
      "From the client: prove that rrsync holds the login at HOST before a backup runs. Exit "
      "codes: 0 rrsync (mode as expected), 1 NOT restricted (a shell answered), 2 usage, "
      "3 unreachable or authentication failed, 4 another rrsync, 5 an unknown forced command, "
      "6 rrsync in another mode than --expect-mode.");
  probe->add_option("host", probe_host, "ssh destination (an alias from ~/.ssh/config)")
      ->required();
  probe->add_option("ssh-options", ssh_options, "ssh options, after --  (e.g. -- -p 2222 -i key)");
  probe->add_option("--ssh", ssh_binary, "the ssh client")->capture_default_str();
  probe->add_option("--expect-mode", expect_mode, "fail unless rrsync runs in this mode")
      ->check(CLI::IsMember({"read-only", "write-only", "read-write"}));
  probe->add_option("--timeout", timeout, "give up after this many seconds")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  probe->add_flag("--quiet,-q", quiet, "print nothing; the exit code tells");

  SshConfigSpec config;
  CLI::App* ssh_config = app.add_subcommand(
      "ssh-config",
      "Print the client's ~/.ssh/config stanza for a backup login: one key (IdentitiesOnly), no "
      "agent or X11 forwarding, never prompt (BatchMode).");
  ssh_config->add_option("--alias", config.alias, "the Host name backups use")->required();
  ssh_config->add_option("--host", config.host, "the server's name or address")->required();
  ssh_config->add_option("--key", config.key_file, "the private key file")->required();
  ssh_config->add_option("--user", config.user, "the account on the server");
  ssh_config->add_option("--port", config.port, "the server's ssh port")
      ->check(CLI::Range(1, 65535));

  std::string snapshots_dir;
  bool snapshots_json = false;
  CLI::App* snapshots = app.add_subcommand(
      "snapshots",
      "List the snapshots of a -snapshots DIR, oldest first: date, size, the bytes only that "
      "snapshot holds (what prune would free), which one is latest, and unfinished pushes.");
  snapshots->add_option("dir", snapshots_dir, "the rrsync -snapshots directory")->required();
  snapshots->add_flag("--json", snapshots_json, "print the listing as JSON");

  PruneRequest prune_request;
  CLI::App* prune = app.add_subcommand(
      "prune",
      "Remove the snapshots of DIR that no --keep-* rule keeps, by snapshot name (rrsync's "
      "clock), as restic forget and borg prune count; never the one latest points to. Takes "
      "rrsync's lock on DIR. Prints each snapshot kept or removed and why.");
  prune->add_option("dir", prune_request.dir, "the rrsync -snapshots directory")->required();
  prune->add_option("--keep-last", prune_request.policy.last, "keep the N newest snapshots")
      ->check(CLI::NonNegativeNumber);
  prune
      ->add_option("--keep-daily", prune_request.policy.daily,
                   "keep the newest snapshot of each of the N newest days that have one (UTC)")
      ->check(CLI::NonNegativeNumber);
  prune
      ->add_option("--keep-weekly", prune_request.policy.weekly,
                   "keep the newest snapshot of each of the N newest ISO weeks that have one")
      ->check(CLI::NonNegativeNumber);
  prune
      ->add_option("--keep-monthly", prune_request.policy.monthly,
                   "keep the newest snapshot of each of the N newest months that have one")
      ->check(CLI::NonNegativeNumber);
  prune->add_flag("--dry-run", prune_request.dry_run,
                  "print what would be removed, change nothing");

  AuditOptions keys_options;
  std::string keys_user;
  bool keys_json = false;
  CLI::App* keys = app.add_subcommand(
      "keys",
      "List each key sshd accepts for USER, from every AuthorizedKeysFile it reads (Match blocks "
      "applied): fingerprint, comment, options, mode, DIR, and audit's problems with the line.");
  keys->add_option("--user", keys_user, "the account")->required();
  keys->add_flag("--json", keys_json, "print the listing as JSON");
  keys->add_option("--sshd-config", keys_options.sshd_config,
                   "ask sshd about this sshd_config instead of the default (sshd -T -f FILE)");
  keys->add_option("--sshd", keys_options.sshd, "the sshd binary")->capture_default_str();
  keys->add_option("--passwd", keys_options.passwd, "read accounts from this passwd file")
      ->capture_default_str();

  RevokeRequest revoke_request;
  CLI::App* revoke = app.add_subcommand(
      "revoke",
      "Remove a key from every authorized keys file sshd reads for USER (each rewritten "
      "atomically, mode and owner kept); says which files and lines. Refuses when none holds it.");
  revoke->add_option("--user", revoke_request.user, "the account")->required();
  CLI::Option* revoke_fp =
      revoke->add_option("--fingerprint", revoke_request.fingerprint,
                         "the key's SHA256:... fingerprint (rrsync-admin keys)");
  CLI::Option* revoke_key =
      revoke->add_option("--key", revoke_request.key_file, "a .pub file holding the key");
  revoke_fp->excludes(revoke_key);
  revoke->add_flag("--dry-run", revoke_request.dry_run,
                   "print what would be removed, change nothing");
  revoke->add_option("--sshd-config", revoke_request.audit.sshd_config,
                     "ask sshd about this sshd_config instead of the default (sshd -T -f FILE)");
  revoke->add_option("--sshd", revoke_request.audit.sshd, "the sshd binary")->capture_default_str();
  revoke->add_option("--passwd", revoke_request.audit.passwd, "read accounts from this passwd file")
      ->capture_default_str();

  std::string sessions_log, sessions_since;
  size_t sessions_last = 50;
  bool sessions_json = false;
  CLI::App* sessions = app.add_subcommand(
      "sessions",
      "Recent sessions from rrsync's log: start, user, client, mode, outcome (ok, failed, refused, "
      "unfinished), duration and what was asked, each start paired with its finished line.");
  sessions->add_option(
      "--log", sessions_log,
      "the log to read: a -log=FILE file, the config's log file (text or JSON), or "
      "a syslog file (default: /var/log/auth.log, else journalctl -t rrsync)");
  sessions->add_option("--since", sessions_since,
                       "only sessions that started at or after this: YYYY-MM-DD[ HH:MM[:SS]], or "
                       "N followed by m, h or d (minutes, hours, days ago)");
  sessions->add_option("--last", sessions_last, "print at most the N most recent")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000000));
  sessions->add_flag("--json", sessions_json, "print the sessions as JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "rrsync-admin error: " << e.what() << " (see rrsync-admin --help)\n";
    return kExitUsage;
  }

  if (*authorize) {
    if (auth.request.key_file.empty() && auth.request.generate_file.empty()) {
      std::cerr << "rrsync-admin error: authorize needs --key FILE.pub or --generate FILE\n";
      return kExitUsage;
    }
    return RunAuthorize(auth);
  }
  if (*audit) {
    std::vector<AuditFinding> findings;
    std::string err;
    if (!RunAudit(audit_options, &findings, &err)) return Error(err);
    std::cout << (json ? FormatAuditJson(findings) : FormatAuditText(findings));
    for (const AuditFinding& f : findings) {
      if (f.status == AuditStatus::kFail) return kExitFailed;
    }
    return kExitOk;
  }
  if (*probe) {
    if (probe_host.empty() || probe_host[0] == '-') {
      std::cerr << "rrsync-admin error: HOST must not start with '-'\n";
      return kExitUsage;
    }
    ProbeResult result;
    std::string err;
    if (!RunProbe(ssh_binary, probe_host, ssh_options, timeout, &result, &err)) {
      std::cerr << "rrsync-admin error: " << err << "\n";
      return static_cast<int>(ProbeVerdict::kUnreachable);
    }
    if (result.verdict == ProbeVerdict::kOurs && !expect_mode.empty() &&
        result.mode != expect_mode) {
      result.verdict = ProbeVerdict::kModeMismatch;
    }
    if (!quiet) {
      (result.verdict == ProbeVerdict::kOurs ? std::cout : std::cerr)
          << "rrsync-admin probe: " << DescribeProbe(probe_host, result) << "\n";
    }
    return static_cast<int>(result.verdict);
  }
  if (*keys) {
    std::vector<AccountKeyLine> lines;
    std::vector<AuditFinding> account;
    std::string err;
    if (!ListAccountKeys(keys_options, keys_user, &lines, &account, &err)) return Error(err);
    std::cout << (keys_json ? FormatKeysJson(keys_user, lines, account)
                            : FormatKeysText(keys_user, lines, account));
    return kExitOk;
  }
  if (*revoke) {
    if (revoke_request.fingerprint.empty() && revoke_request.key_file.empty()) {
      std::cerr << "rrsync-admin error: revoke needs --fingerprint F or --key FILE.pub\n";
      return kExitUsage;
    }
    std::vector<RevokedLine> removed;
    std::string err;
    if (!Revoke(revoke_request, &removed, &err)) return Error(err);
    for (const RevokedLine& r : removed) {
      std::cout << (revoke_request.dry_run ? "would remove " : "removed ") << r.file << " line "
                << r.line << ": " << r.fingerprint << (r.comment.empty() ? "" : " ") << r.comment
                << "\n";
    }
    return kExitOk;
  }
  if (*sessions) {
    std::string since;
    if (!sessions_since.empty() && !ParseSince(sessions_since, time(nullptr), &since)) {
      std::cerr << "rrsync-admin error: --since \"" << sessions_since
                << "\" is neither YYYY-MM-DD[ HH:MM[:SS]] nor N followed by m, h or d\n";
      return kExitUsage;
    }
    std::string text;
    std::string log = sessions_log;
    if (log.empty() && access("/var/log/auth.log", R_OK) == 0) log = "/var/log/auth.log";
    if (!log.empty()) {
      std::ifstream in(log, std::ios::binary);
      if (!in) return Error("Failed to open \"" + log + "\"");
      std::ostringstream buffer;
      buffer << in.rdbuf();
      text = buffer.str();
    } else {
      ProcessResult run;
      std::string err;
      if (!RunProcess({"journalctl", "-t", "rrsync", "-o", "short-iso", "-n", "800", "--no-pager"},
                      60, &run, &err))
        return Error("no /var/log/auth.log and " + err + ": give --log FILE");
      text = run.out;
    }
    std::time_t now = time(nullptr);
    std::tm local{};
    localtime_r(&now, &local);
    std::vector<SessionRecord> records = ParseSessionLog(text, local.tm_year + 1900);
    std::vector<SessionRecord> shown;
    for (SessionRecord& r : records)
      if (since.empty() || r.start >= since) shown.push_back(std::move(r));
    if (shown.size() > sessions_last) shown.erase(shown.begin(), shown.end() - sessions_last);
    std::cout << (sessions_json ? FormatSessionsJson(shown) : FormatSessionsText(shown));
    return kExitOk;
  }
  if (*snapshots) {
    SnapshotListing listing;
    std::string err;
    if (!ListSnapshots(snapshots_dir, true, &listing, &err)) return Error(err);
    std::cout << (snapshots_json ? FormatSnapshotsJson(listing) : FormatSnapshotsText(listing));
    return kExitOk;
  }
  if (*prune) {
    if (!prune_request.policy.KeepsAny()) {
      std::cerr << "rrsync-admin error: prune needs at least one --keep-last, --keep-daily, "
                   "--keep-weekly or --keep-monthly above 0\n";
      return kExitUsage;
    }
    PruneOutcome outcome;
    std::string err;
    const bool ok = Prune(prune_request, &outcome, &err);
    // A prune that stopped half-way still says what it kept and removed before the error.
    if (ok || !outcome.verdicts.empty()) std::cout << FormatPruneText(prune_request, outcome);
    if (!ok) {
      std::cout << std::flush;  // the error comes after what was done
      Error(err);
      return outcome.failure == PruneFailure::kBusy ? kExitBusy : kExitFailed;
    }
    return kExitOk;
  }
  if (*ssh_config) {
    std::string stanza, err;
    if (!FormatSshConfigStanza(config, &stanza, &err)) return Error(err);
    std::cout << stanza;
    return kExitOk;
  }
  return kExitUsage;
}
