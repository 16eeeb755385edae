# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_netlens_global_optspecs
    string join \n c/config= t/theme= n/netns= no-netlink refresh= export-dir= log= no-reverse-dns demo target= h/help V/version
end

function __fish_netlens_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_netlens_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_netlens_using_subcommand
    set -l cmd (__fish_netlens_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c netlens -n "__fish_netlens_needs_command" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_needs_command" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_needs_command" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_needs_command" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_needs_command" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_needs_command" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_needs_command" -l target -d 'Watch this destination\'s path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]' -r
complete -c netlens -n "__fish_netlens_needs_command" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_needs_command" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_needs_command" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_needs_command" -s h -l help -d 'Print help'
complete -c netlens -n "__fish_netlens_needs_command" -s V -l version -d 'Print version'
complete -c netlens -n "__fish_netlens_needs_command" -f -a "snapshot" -d 'Collect for a moment and write a snapshot of everything (JSON or Markdown)'
complete -c netlens -n "__fish_netlens_needs_command" -f -a "config" -d 'Configuration helpers'
complete -c netlens -n "__fish_netlens_needs_command" -f -a "path" -d 'Evaluate path targets once, print each verdict with its checks, and exit 0 when every target is satisfied, 1 otherwise'
complete -c netlens -n "__fish_netlens_needs_command" -f -a "trace" -d 'Resolve a name step by step the way glibc does (search list, each server, A and AAAA), print every query and the system\'s own answer, and exit 0 when the name resolves, 1 when it does not, 2 when it is not a valid name'
complete -c netlens -n "__fish_netlens_needs_command" -f -a "doctor" -d 'Collect for a while, evaluate every finding rule, print the open findings with their evidence, cause and fix, and exit 0 when none is open, 1 when some are'
complete -c netlens -n "__fish_netlens_needs_command" -f -a "diff" -d 'Say what changed between two snapshots, or two times of a journal (JOURNAL@TIME): interfaces, addresses, routes, rules, neighbours, paths, DNS configuration, listeners, connections per process; exit 0 when equal, 1 when different, 2 when a file is not a snapshot or a journal'
complete -c netlens -n "__fish_netlens_needs_command" -f -a "record" -d 'Record the event stream to a journal (headless, the TUI\'s collectors) until SIGINT, SIGTERM or --duration; replay it with `netlens replay`'
complete -c netlens -n "__fish_netlens_needs_command" -f -a "replay" -d 'Replay a journal in the TUI, read-only, with a time cursor (space plays, ← → step, [ ] move a minute, J jumps, n N find the next change)'
complete -c netlens -n "__fish_netlens_needs_command" -f -a "open" -d 'Show a snapshot (`netlens snapshot` JSON, a redacted one from another host included) in the TUI, read-only'
complete -c netlens -n "__fish_netlens_needs_command" -f -a "daemon" -d 'Run the collectors with no terminal and serve Prometheus metrics (GET /metrics, text or OpenMetrics) and health (GET /healthz) until SIGINT or SIGTERM'
complete -c netlens -n "__fish_netlens_needs_command" -f -a "completions" -d 'Print the completion script for a shell: `netlens completions bash > /etc/bash_completion.d/netlens`, or `source <(netlens completions bash)`'
complete -c netlens -n "__fish_netlens_needs_command" -f -a "man" -d 'Print the manual page (roff): `netlens man | man -l -`'
complete -c netlens -n "__fish_netlens_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -s f -l format -d 'Output format' -r -f -a "json\t'The export schema, version 1'
md\t'A readable Markdown report of the same data'
csv\t'The connection table, one row per socket (RFC 4180)'"
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -s d -l duration -d 'How long to collect before writing (rates need at least two samples). SIGINT or SIGTERM ends the collection early and writes what was collected' -r
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -s o -l output -d 'Write to FILE instead of standard output (`-` is standard output). A new file is created with mode 0600, as a snapshot may hold private facts; an existing regular file is replaced atomically and keeps its mode; a symlink is written through; a device, FIFO or socket is written in place. Directories and block devices are refused' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -l from -d 'Write the state recorded in a journal (`netlens record`) instead of collecting: a journal file or directory' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -l at -d 'With --from: the moment to take, as an RFC 3339 time, +DURATION from the start, -DURATION from the end, `start` or `end` (default: the end)' -r
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -l target -d 'Watch this destination\'s path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]' -r
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -l redact -d 'Replace MAC addresses, non-loopback IP addresses and the hostname with stable pseudonyms, so the snapshot can be shared'
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_using_subcommand snapshot" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c netlens -n "__fish_netlens_using_subcommand config; and not __fish_seen_subcommand_from template path check help" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand config; and not __fish_seen_subcommand_from template path check help" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and not __fish_seen_subcommand_from template path check help" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and not __fish_seen_subcommand_from template path check help" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and not __fish_seen_subcommand_from template path check help" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand config; and not __fish_seen_subcommand_from template path check help" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand config; and not __fish_seen_subcommand_from template path check help" -l target -d 'Watch this destination\'s path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and not __fish_seen_subcommand_from template path check help" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_using_subcommand config; and not __fish_seen_subcommand_from template path check help" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_using_subcommand config; and not __fish_seen_subcommand_from template path check help" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_using_subcommand config; and not __fish_seen_subcommand_from template path check help" -s h -l help -d 'Print help'
complete -c netlens -n "__fish_netlens_using_subcommand config; and not __fish_seen_subcommand_from template path check help" -f -a "template" -d 'Print a commented config file with every option at its default'
complete -c netlens -n "__fish_netlens_using_subcommand config; and not __fish_seen_subcommand_from template path check help" -f -a "path" -d 'Print the config file path netlens reads'
complete -c netlens -n "__fish_netlens_using_subcommand config; and not __fish_seen_subcommand_from template path check help" -f -a "check" -d 'Check the config file, its theme and keys as netlens would read them: exit 0 when they are good, 2 naming the file, line and key that is not'
complete -c netlens -n "__fish_netlens_using_subcommand config; and not __fish_seen_subcommand_from template path check help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from template" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from template" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from template" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from template" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from template" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from template" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from template" -l target -d 'Watch this destination\'s path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from template" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from template" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from template" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from template" -s h -l help -d 'Print help'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from path" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from path" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from path" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from path" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from path" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from path" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from path" -l target -d 'Watch this destination\'s path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from path" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from path" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from path" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from path" -s h -l help -d 'Print help'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from check" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from check" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from check" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from check" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from check" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from check" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from check" -l target -d 'Watch this destination\'s path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]' -r
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from check" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from check" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from check" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "template" -d 'Print a commented config file with every option at its default'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "path" -d 'Print the config file path netlens reads'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "check" -d 'Check the config file, its theme and keys as netlens would read them: exit 0 when they are good, 2 naming the file, line and key that is not'
complete -c netlens -n "__fish_netlens_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c netlens -n "__fish_netlens_using_subcommand path" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand path" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_using_subcommand path" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_using_subcommand path" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_using_subcommand path" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand path" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand path" -l json -d 'Print a JSON list of paths objects (the export schema\'s `paths`)'
complete -c netlens -n "__fish_netlens_using_subcommand path" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_using_subcommand path" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_using_subcommand path" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_using_subcommand path" -s h -l help -d 'Print help'
complete -c netlens -n "__fish_netlens_using_subcommand trace" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand trace" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_using_subcommand trace" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_using_subcommand trace" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_using_subcommand trace" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand trace" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand trace" -l target -d 'Watch this destination\'s path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]' -r
complete -c netlens -n "__fish_netlens_using_subcommand trace" -l json -d 'Print one `traces` object of the export schema as JSON'
complete -c netlens -n "__fish_netlens_using_subcommand trace" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_using_subcommand trace" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_using_subcommand trace" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_using_subcommand trace" -s h -l help -d 'Print help'
complete -c netlens -n "__fish_netlens_using_subcommand doctor" -s d -l duration -d 'How long to collect: rules on counters need two readings, and a finding opens only after its debounce' -r
complete -c netlens -n "__fish_netlens_using_subcommand doctor" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand doctor" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_using_subcommand doctor" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_using_subcommand doctor" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_using_subcommand doctor" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand doctor" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand doctor" -l target -d 'Watch this destination\'s path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]' -r
complete -c netlens -n "__fish_netlens_using_subcommand doctor" -l json -d 'Print a JSON list of the open findings (the export schema\'s `findings` objects)'
complete -c netlens -n "__fish_netlens_using_subcommand doctor" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_using_subcommand doctor" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_using_subcommand doctor" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c netlens -n "__fish_netlens_using_subcommand diff" -s f -l format -d 'Output format' -r -f -a "text\t'One line per change: `+` added, `-` removed, `~` changed'
json\t'`{ changes: [ { section, subject, change, before, after } ] }`'
md\t'A Markdown table'"
complete -c netlens -n "__fish_netlens_using_subcommand diff" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand diff" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_using_subcommand diff" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_using_subcommand diff" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_using_subcommand diff" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand diff" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand diff" -l target -d 'Watch this destination\'s path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]' -r
complete -c netlens -n "__fish_netlens_using_subcommand diff" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_using_subcommand diff" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_using_subcommand diff" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c netlens -n "__fish_netlens_using_subcommand record" -s o -l output -d 'Where the journal goes: a FILE (created new, never overwritten), or a DIR (a name ending in `/` or an existing directory) of segment files rotated by size and age' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand record" -s d -l duration -d 'Stop after DURATION (default: record until SIGINT or SIGTERM)' -r
complete -c netlens -n "__fish_netlens_using_subcommand record" -l max-size -d 'A FILE stops recording when it reaches SIZE; a DIR deletes its oldest segments to stay under SIZE (default for a DIR: 1G). Units K, M, G (powers of 1024)' -r
complete -c netlens -n "__fish_netlens_using_subcommand record" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand record" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_using_subcommand record" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_using_subcommand record" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_using_subcommand record" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand record" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand record" -l target -d 'Watch this destination\'s path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]' -r
complete -c netlens -n "__fish_netlens_using_subcommand record" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_using_subcommand record" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_using_subcommand record" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_using_subcommand record" -s h -l help -d 'Print help'
complete -c netlens -n "__fish_netlens_using_subcommand replay" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand replay" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_using_subcommand replay" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_using_subcommand replay" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_using_subcommand replay" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand replay" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand replay" -l target -d 'Watch this destination\'s path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]' -r
complete -c netlens -n "__fish_netlens_using_subcommand replay" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_using_subcommand replay" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_using_subcommand replay" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_using_subcommand replay" -s h -l help -d 'Print help'
complete -c netlens -n "__fish_netlens_using_subcommand open" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand open" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_using_subcommand open" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_using_subcommand open" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_using_subcommand open" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand open" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand open" -l target -d 'Watch this destination\'s path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]' -r
complete -c netlens -n "__fish_netlens_using_subcommand open" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_using_subcommand open" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_using_subcommand open" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_using_subcommand open" -s h -l help -d 'Print help'
complete -c netlens -n "__fish_netlens_using_subcommand daemon" -l metrics-addr -d 'Address for /metrics and /healthz (loopback unless you name another; bound in the caller\'s namespace, also with --netns)' -r
complete -c netlens -n "__fish_netlens_using_subcommand daemon" -l record -d 'Also keep a rotating journal of the event stream in this directory (segments of 10 minutes or an eighth of --record-max-size; the oldest deleted past it)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand daemon" -l record-max-size -d 'The journal directory\'s bound, e.g. 500M or 2G' -r
complete -c netlens -n "__fish_netlens_using_subcommand daemon" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand daemon" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_using_subcommand daemon" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_using_subcommand daemon" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_using_subcommand daemon" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand daemon" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand daemon" -l target -d 'Watch this destination\'s path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]' -r
complete -c netlens -n "__fish_netlens_using_subcommand daemon" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_using_subcommand daemon" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_using_subcommand daemon" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_using_subcommand daemon" -s h -l help -d 'Print help'
complete -c netlens -n "__fish_netlens_using_subcommand completions" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand completions" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_using_subcommand completions" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_using_subcommand completions" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_using_subcommand completions" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand completions" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand completions" -l target -d 'Watch this destination\'s path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]' -r
complete -c netlens -n "__fish_netlens_using_subcommand completions" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_using_subcommand completions" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_using_subcommand completions" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_using_subcommand completions" -s h -l help -d 'Print help'
complete -c netlens -n "__fish_netlens_using_subcommand man" -s c -l config -d 'Config file (default: $XDG_CONFIG_HOME/netlens/config.toml, read if it exists)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand man" -s t -l theme -d 'Colour theme: dark, light, high-contrast, or a theme file path' -r
complete -c netlens -n "__fish_netlens_using_subcommand man" -s n -l netns -d 'Monitor the network namespace /run/netns/NAME (needs root)' -r
complete -c netlens -n "__fish_netlens_using_subcommand man" -l refresh -d 'Sampling period for counters, e.g. 1s or 500ms' -r
complete -c netlens -n "__fish_netlens_using_subcommand man" -l export-dir -d 'Directory for snapshots exported with `e`' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand man" -l log -d 'Log file (default: $XDG_STATE_HOME/netlens/netlens.log)' -r -F
complete -c netlens -n "__fish_netlens_using_subcommand man" -l target -d 'Watch this destination\'s path too (repeatable): DEST[,via=IFACE][,mark=N][,probe=tcp|icmp|dns|none]' -r
complete -c netlens -n "__fish_netlens_using_subcommand man" -l no-netlink -d 'Use the portable if-addrs + sysinfo fallback instead of rtnetlink'
complete -c netlens -n "__fish_netlens_using_subcommand man" -l no-reverse-dns -d 'Do not look up names of remote addresses (no reverse-DNS traffic)'
complete -c netlens -n "__fish_netlens_using_subcommand man" -l demo -d 'Play a scripted demo session instead of reading this host (touches no network)'
complete -c netlens -n "__fish_netlens_using_subcommand man" -s h -l help -d 'Print help'
complete -c netlens -n "__fish_netlens_using_subcommand help; and not __fish_seen_subcommand_from snapshot config path trace doctor diff record replay open daemon completions man help" -f -a "snapshot" -d 'Collect for a moment and write a snapshot of everything (JSON or Markdown)'
complete -c netlens -n "__fish_netlens_using_subcommand help; and not __fish_seen_subcommand_from snapshot config path trace doctor diff record replay open daemon completions man help" -f -a "config" -d 'Configuration helpers'
complete -c netlens -n "__fish_netlens_using_subcommand help; and not __fish_seen_subcommand_from snapshot config path trace doctor diff record replay open daemon completions man help" -f -a "path" -d 'Evaluate path targets once, print each verdict with its checks, and exit 0 when every target is satisfied, 1 otherwise'
complete -c netlens -n "__fish_netlens_using_subcommand help; and not __fish_seen_subcommand_from snapshot config path trace doctor diff record replay open daemon completions man help" -f -a "trace" -d 'Resolve a name step by step the way glibc does (search list, each server, A and AAAA), print every query and the system\'s own answer, and exit 0 when the name resolves, 1 when it does not, 2 when it is not a valid name'
complete -c netlens -n "__fish_netlens_using_subcommand help; and not __fish_seen_subcommand_from snapshot config path trace doctor diff record replay open daemon completions man help" -f -a "doctor" -d 'Collect for a while, evaluate every finding rule, print the open findings with their evidence, cause and fix, and exit 0 when none is open, 1 when some are'
complete -c netlens -n "__fish_netlens_using_subcommand help; and not __fish_seen_subcommand_from snapshot config path trace doctor diff record replay open daemon completions man help" -f -a "diff" -d 'Say what changed between two snapshots, or two times of a journal (JOURNAL@TIME): interfaces, addresses, routes, rules, neighbours, paths, DNS configuration, listeners, connections per process; exit 0 when equal, 1 when different, 2 when a file is not a snapshot or a journal'
complete -c netlens -n "__fish_netlens_using_subcommand help; and not __fish_seen_subcommand_from snapshot config path trace doctor diff record replay open daemon completions man help" -f -a "record" -d 'Record the event stream to a journal (headless, the TUI\'s collectors) until SIGINT, SIGTERM or --duration; replay it with `netlens replay`'
complete -c netlens -n "__fish_netlens_using_subcommand help; and not __fish_seen_subcommand_from snapshot config path trace doctor diff record replay open daemon completions man help" -f -a "replay" -d 'Replay a journal in the TUI, read-only, with a time cursor (space plays, ← → step, [ ] move a minute, J jumps, n N find the next change)'
complete -c netlens -n "__fish_netlens_using_subcommand help; and not __fish_seen_subcommand_from snapshot config path trace doctor diff record replay open daemon completions man help" -f -a "open" -d 'Show a snapshot (`netlens snapshot` JSON, a redacted one from another host included) in the TUI, read-only'
complete -c netlens -n "__fish_netlens_using_subcommand help; and not __fish_seen_subcommand_from snapshot config path trace doctor diff record replay open daemon completions man help" -f -a "daemon" -d 'Run the collectors with no terminal and serve Prometheus metrics (GET /metrics, text or OpenMetrics) and health (GET /healthz) until SIGINT or SIGTERM'
complete -c netlens -n "__fish_netlens_using_subcommand help; and not __fish_seen_subcommand_from snapshot config path trace doctor diff record replay open daemon completions man help" -f -a "completions" -d 'Print the completion script for a shell: `netlens completions bash > /etc/bash_completion.d/netlens`, or `source <(netlens completions bash)`'
complete -c netlens -n "__fish_netlens_using_subcommand help; and not __fish_seen_subcommand_from snapshot config path trace doctor diff record replay open daemon completions man help" -f -a "man" -d 'Print the manual page (roff): `netlens man | man -l -`'
complete -c netlens -n "__fish_netlens_using_subcommand help; and not __fish_seen_subcommand_from snapshot config path trace doctor diff record replay open daemon completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c netlens -n "__fish_netlens_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "template" -d 'Print a commented config file with every option at its default'
complete -c netlens -n "__fish_netlens_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "path" -d 'Print the config file path netlens reads'
complete -c netlens -n "__fish_netlens_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "check" -d 'Check the config file, its theme and keys as netlens would read them: exit 0 when they are good, 2 naming the file, line and key that is not'
