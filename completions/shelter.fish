# fish completion for shelter(1). Installed as shelter.fish in fish's
# vendor_completions.d (see ./configure --with-fish-completion-dir).
# Keep the option lists in step with src/main.c and man/shelter.1.

complete -c shelter -e
# No file names unless an argument asks for them.
complete -c shelter -f

# Before the subcommand.
complete -c shelter -n __fish_use_subcommand -a backup -d 'One-way pass: DEST mirrors SRC, history kept in DEST'
complete -c shelter -n __fish_use_subcommand -a sync -d 'Two-way pass: changes on either side go to the other, conflicts kept'
complete -c shelter -n __fish_use_subcommand -a conflicts -d 'List the conflict copies under a local ROOT'
complete -c shelter -n __fish_use_subcommand -a versions -d 'List the versions DEST keeps of a file or a tree'
complete -c shelter -n __fish_use_subcommand -a restore -d 'Write a file or a tree as it was at a time into TARGET'
complete -c shelter -n __fish_use_subcommand -a status -d 'The last run of each pair, from the run log'
complete -c shelter -n __fish_use_subcommand -a verify -d 'Re-hash DEST against its recorded hashes (damage heals at the next backup)'
complete -c shelter -n __fish_use_subcommand -a prune -d 'Forget old snapshots by --keep-... rules; remove the versions no kept one needs'
complete -c shelter -n __fish_use_subcommand -s h -l help -d 'Print help and exit'
complete -c shelter -n __fish_use_subcommand -s V -l version -d 'Print version (and librsync/xxhash versions) and exit'
complete -c shelter -n __fish_use_subcommand -l server -d 'The other end of a pass (protocol on stdin/stdout)'
complete -c shelter -n __fish_use_subcommand -l restrict -x -a '(__fish_complete_directories (commandline -ct))' -d 'Server: take every path the client names inside DIR'
complete -c shelter -n __fish_use_subcommand -l read-only -d 'Server: refuse to be a DEST, serve pulls only'

# shelter backup [OPTIONS] SRC DEST
set -l backup '__fish_seen_subcommand_from backup sync'
set -l sync '__fish_seen_subcommand_from sync'
set -l conflicts '__fish_seen_subcommand_from conflicts'
complete -c shelter -n $backup -s n -l dry-run -d 'Show what would change, change nothing'
complete -c shelter -n $backup -s c -l checksum -d 'Compare files by XXH3-128 hash instead of size+mtime'
complete -c shelter -n $backup -s i -l itemize-changes -d 'One line per change, rsync-style codes'
complete -c shelter -n $backup -s v -l verbose -d 'List each changed path; -vv adds debugging detail'
complete -c shelter -n $backup -s q -l quiet -d 'Print errors only'
complete -c shelter -n $backup -l exclude -x -d 'Exclude paths matching PATTERN'
complete -c shelter -n $backup -l exclude-from -r -F -d 'Read exclude patterns from FILE (- is stdin)'
complete -c shelter -n $backup -l no-history -d 'Do not keep replaced or deleted files under DEST/.shelter/'
complete -c shelter -n $backup -l stats -d 'Print statistics at the end'
complete -c shelter -n $backup -l progress -d 'Whole-pass progress on stderr when it is a terminal'
complete -c shelter -n $backup -s e -l rsh -x -a '(__fish_complete_command)' -d 'Run COMMAND instead of ssh to reach the remote side'
complete -c shelter -n $backup -l remote-cmd -r -F -d 'The shelter binary on the remote side'
complete -c shelter -n $backup -l timeout -x -a '0 60 600 3600' -d 'Give up when no data moves for SECONDS (default 600, 0 = never)'
complete -c shelter -n $backup -l retries -x -a '0 1 2 5 10' -d 'Run a pass again after a lost connection, up to N times (default 2)'
complete -c shelter -n $backup -l retry-wait -x -a '0 10 60 300' -d 'SECONDS before the first retry, doubled each time (default 10)'
complete -c shelter -n $backup -s h -l help -d 'Print help and exit'
# shelter sync [OPTIONS] ROOT1 ROOT2: the options above, and these.
complete -c shelter -n $sync -l state -r -F -d 'The pair\'s state file (default under $XDG_STATE_HOME/shelter/)'
complete -c shelter -n $sync -l resync -d 'Forget the state: a first pass, which deletes nothing'
complete -c shelter -n $sync -l prefer -x -a 'newer older ROOT1 ROOT2' -d 'Settle conflicts instead of keeping both'
complete -c shelter -n $sync -l max-delete -x -a '10 50 100' -d 'Stop before deleting more than PERCENT of a side\'s files'
complete -c shelter -n $sync -l lock-wait -x -a '0 60 600' -d 'Wait SECONDS for another sync of the same pair'
# Monitoring, backup and sync.
complete -c shelter -n $backup -l run-log -r -F -d 'Append the run\'s JSON line to FILE'
complete -c shelter -n $backup -l pre -x -a '(__fish_complete_command)' -d 'Run COMMAND first; if it fails, stop (exit 18)'
complete -c shelter -n $backup -l post -x -a '(__fish_complete_command)' -d 'Run COMMAND after the pass, even a failed one'
complete -c shelter -n $backup -l notify -x -a '(__fish_complete_command)' -d 'Run COMMAND after the pass with the result in its environment'
complete -c shelter -n $backup -l mail-to -x -d 'Mail a report to ADDR through sendmail'
complete -c shelter -n $backup -l mail-on -x -a 'failure always' -d 'When to mail (default failure)'
complete -c shelter -n $backup -l syslog -d 'Log the summary and each error to syslog'
# shelter conflicts ROOT
complete -c shelter -n $conflicts -l exclude -x -d 'Leave out paths matching PATTERN'
complete -c shelter -n $conflicts -l exclude-from -r -F -d 'Read exclude patterns from FILE'
complete -c shelter -n $conflicts -a '(__fish_complete_directories (commandline -ct))'
# SRC and DEST: directories, while fewer than two are on the line.
function __shelter_backup_wants_dir
    string match -q -- '-*' (commandline -ct); and return 1
    set -l n 0
    set -l seen 0
    set -l dashdash 0
    set -l prev ''
    for tok in (commandline -opc)[2..-1]
        if test $seen -eq 0
            string match -q -- '-*' $tok; or set seen 1
        else if test $dashdash -eq 1
            set n (math $n + 1)
        else if test "$tok" = --
            set dashdash 1
        else if not string match -q -- '-*' $tok
            and not contains -- $prev --exclude --exclude-from -e --rsh --remote-cmd --timeout --retries --retry-wait --state --prefer --max-delete --lock-wait \
                --run-log --pre --post --notify --mail-to --mail-on --keep-last --keep-within --keep-daily --keep-weekly --keep-monthly
            set n (math $n + 1)
        end
        set prev $tok
    end
    test $n -lt 2
end
complete -c shelter -n "$backup; and __shelter_backup_wants_dir" -a '(__fish_complete_directories (commandline -ct))'

# shelter versions [--json] DEST[/PATH]
set -l versions '__fish_seen_subcommand_from versions'
complete -c shelter -n $versions -l json -d 'One JSON array of versions instead of one line each'
complete -c shelter -n $versions -s h -l help -d 'Print help and exit'
complete -c shelter -n $versions -F

# shelter restore [--at TIME] [--in-place] [-n] [-v] [-e CMD] [--remote-cmd P] [--timeout S] DEST[/PATH] TARGET
set -l restore '__fish_seen_subcommand_from restore'
complete -c shelter -n $restore -l at -x -a '1h 12h 1d 3d 1w' -d 'Restore as it was at TIME (2026-11-25, 2026-11-25T14:00:00Z, @SECONDS, 3d)'
complete -c shelter -n $restore -l in-place -d 'Restore over a TARGET that is not empty; what it replaces is kept'
complete -c shelter -n $restore -s n -l dry-run -d 'List what would be restored, change nothing'
complete -c shelter -n $restore -s v -l verbose -d 'List each path restored'
complete -c shelter -n $restore -s e -l rsh -x -a '(__fish_complete_command)' -d 'Run COMMAND instead of ssh to reach the remote side'
complete -c shelter -n $restore -l remote-cmd -r -F -d 'The shelter binary on the remote side'
complete -c shelter -n $restore -l timeout -x -a '0 60 600 3600' -d 'Give up when no data moves for SECONDS (default 600, 0 = never)'
complete -c shelter -n $restore -s h -l help -d 'Print help and exit'
complete -c shelter -n $restore -l run-log -r -F -d 'Append the run\'s JSON line to FILE'
complete -c shelter -n $restore -F

# shelter status [--max-age AGE] [--json] [--run-log FILE] [ROOT...]
set -l status_c '__fish_seen_subcommand_from status'
complete -c shelter -n $status_c -l max-age -x -a '30m 12h 26h 3d 1w' -d 'Exit 17 if a last run failed or is older than AGE'
complete -c shelter -n $status_c -l json -d 'One JSON array of the last runs\' lines'
complete -c shelter -n $status_c -l run-log -r -F -d 'Read FILE instead of the default run log'
complete -c shelter -n $status_c -s h -l help -d 'Print help and exit'
complete -c shelter -n $status_c -a '(__fish_complete_directories (commandline -ct))'
# shelter verify [-v] [--json] DEST
set -l verify '__fish_seen_subcommand_from verify'
complete -c shelter -n $verify -s v -l verbose -d 'List every file checked, not only problems'
complete -c shelter -n $verify -l json -d 'One JSON object: counts and the damaged, missing and unrecorded paths'
complete -c shelter -n $verify -s h -l help -d 'Print help and exit'
complete -c shelter -n $verify -x -a '(__fish_complete_directories (commandline -ct))'
# Retention: shelter backup --keep-... and shelter prune --keep-...=N [-n] [-v] DEST
set -l keep '__fish_seen_subcommand_from backup prune'
set -l prune '__fish_seen_subcommand_from prune'
complete -c shelter -n $keep -l keep-last -x -a '7 14 30' -d 'Keep the N newest snapshots'
complete -c shelter -n $keep -l keep-within -x -a '1d 7d 2w 30d' -d 'Keep the snapshots within AGE of the newest'
complete -c shelter -n $keep -l keep-daily -x -a '7 14 30' -d 'Keep the newest snapshot of each of the last N days'
complete -c shelter -n $keep -l keep-weekly -x -a '4 12 24' -d 'Keep the newest snapshot of each of the last N ISO weeks'
complete -c shelter -n $keep -l keep-monthly -x -a '4 12 24' -d 'Keep the newest snapshot of each of the last N months'
complete -c shelter -n $prune -s n -l dry-run -d 'List what would go, change nothing'
complete -c shelter -n $prune -s v -l verbose -d 'List kept snapshots and removed versions'
complete -c shelter -n $prune -s h -l help -d 'Print help and exit'
complete -c shelter -n $prune -a '(__fish_complete_directories (commandline -ct))'
complete -c shelter -n '__fish_seen_subcommand_from prune verify' -s e -l rsh -x -a '(__fish_complete_command)' -d 'Run COMMAND instead of ssh to reach the remote side'
complete -c shelter -n '__fish_seen_subcommand_from prune verify' -l remote-cmd -r -F -d 'The shelter binary on the remote side'
complete -c shelter -n '__fish_seen_subcommand_from prune verify' -l timeout -x -a '0 60 600 3600' -d 'Give up when no data moves for SECONDS (default 600, 0 = never)'
complete -c shelter -n '__fish_seen_subcommand_from prune verify' -l run-log -r -F -d 'Append the run\'s JSON line to FILE'
