// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// netlens: who owns a socket, recorded at the moment the process acts.
//
// cgroup sock_addr hooks (connect4/6, sendmsg4/6) run in the calling process's
// context when it connects or sends to an address, so the pid, thread name, uid and
// cgroup they read are the actor's, however briefly it lives. Each event carries the
// socket cookie, the identity sock_diag reports for the same socket, so the join in
// netlens is exact. A cgroup_skb egress hook adds the local port for DNS traffic
// (glibc's resolver connects a UDP socket before the kernel has bound its port), so
// the DNS capture's 5-tuple joins to the cookie too.
//
// Built by bpf/build (clang -target bpf, then llvm-strip -g); the object is committed
// so building netlens needs no clang. See bpf/README.md.

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define IPPROTO_UDP 17
#define DNS_PORT 53

// What happened (netlens's `EventKind`).
#define KIND_CONNECT 1
#define KIND_SENDMSG 2
#define KIND_EGRESS 3

// Wake the reader at once when this much is waiting (a quarter of the ring), or when
// the last wakeup was longer ago than WAKEUP_AFTER_NS; otherwise add the record
// silently. A wakeup per event costs the reader ~11 us: at 10,000 connects/s that
// alone would be a tenth of a core.
//
// RING_BYTES: 512 KiB, 4,681 records. The ring counts twice in netlens's resident
// size (its data pages are mapped twice, so a record can wrap), all of it from the
// start: 1 MiB cost 2,052 KiB of RSS, and the TUI with 10,000 sockets peaked at
// 38.4 MiB (40.3 MB, over the 40 MB budget). examples/attribution_latency at 10,000
// and 30,000 connects/s for 5 s lost 0 records with 1 MiB (one run) and 0 with
// 512 KiB (two runs, on a loaded 2-core VM): the reader is woken every millisecond,
// and the ring holds over 450 ms of a 10,000/s storm while it is not scheduled.
#define RING_BYTES (1 << 19)
#define WAKEUP_WATERMARK (RING_BYTES / 4)
#define WAKEUP_AFTER_NS 1000000ULL

// One record; the layout is mirrored by collectors/src/attribution/event.rs.
struct event {
	__u64 cookie;      // bpf_get_socket_cookie: sock_diag's cookie for this socket
	__u64 cgroup_id;   // the actor's cgroup v2 id (the cgroup directory's inode)
	__u64 at_ns;       // CLOCK_BOOTTIME: comparable with a process start time
	__u32 tgid;        // the process id
	__u32 tid;         // the thread id
	__u32 uid;
	__u8 kind;         // KIND_*
	__u8 family;       // AF_INET or AF_INET6
	__u8 protocol;     // IPPROTO_TCP or IPPROTO_UDP
	__u8 pad;
	__u16 local_port;  // host order; 0 when not yet bound
	__u16 remote_port; // host order
	__u32 local_addr[4];  // network order; IPv4 in the first word
	__u32 remote_addr[4]; // network order
	char comm[16];     // the acting thread's name
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, RING_BYTES);
} events SEC(".maps");

// [0]: events lost because the ring was full. [1]: time of the last forced wakeup.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

// Cookies of sockets seen by a sock_addr hook in the monitored namespace: the egress
// hook reports only those, since cgroup_skb cannot tell namespaces apart on every
// kernel (bpf_get_netns_cookie for skb programs is recent).
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} watched SEC(".maps");

// The network namespace netlens monitors (SO_NETNS_COOKIE), set before loading;
// cgroup hooks are host-wide, `--netns` watches one namespace. 0: every namespace.
const volatile __u64 netns_cookie = 0;

static __always_inline void count_lost(void)
{
	__u32 key = 0;
	__u64 *lost = bpf_map_lookup_elem(&counters, &key);
	if (lost)
		__sync_fetch_and_add(lost, 1);
}

static __always_inline __u64 wakeup_flags(void)
{
	if (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= WAKEUP_WATERMARK)
		return BPF_RB_FORCE_WAKEUP;
	__u32 key = 1;
	__u64 *last = bpf_map_lookup_elem(&counters, &key);
	if (!last)
		return 0;
	__u64 now = bpf_ktime_get_ns();
	if (now - *last > WAKEUP_AFTER_NS) {
		*last = now;
		return BPF_RB_FORCE_WAKEUP;
	}
	return BPF_RB_NO_WAKEUP;
}

static __always_inline void fill_actor(struct event *e)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	e->tgid = pid_tgid >> 32;
	e->tid = (__u32)pid_tgid;
	e->uid = (__u32)bpf_get_current_uid_gid();
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->at_ns = bpf_ktime_get_boot_ns();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

static __always_inline int record_addr(struct bpf_sock_addr *ctx, __u8 kind, __u8 family)
{
	if (netns_cookie && bpf_get_netns_cookie(ctx) != netns_cookie)
		return 1;
	__u32 protocol = ctx->protocol;
	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return 1;
	__u64 cookie = bpf_get_socket_cookie(ctx);
	__u8 one = 1;
	bpf_map_update_elem(&watched, &cookie, &one, BPF_ANY);

	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return 1;
	}
	e->cookie = cookie;
	e->kind = kind;
	e->family = family;
	e->protocol = protocol;
	e->pad = 0;
	e->local_port = 0;
	e->remote_port = bpf_ntohs((__u16)ctx->user_port);
	if (family == AF_INET) {
		e->remote_addr[0] = ctx->user_ip4;
		e->remote_addr[1] = 0;
		e->remote_addr[2] = 0;
		e->remote_addr[3] = 0;
	} else {
		e->remote_addr[0] = ctx->user_ip6[0];
		e->remote_addr[1] = ctx->user_ip6[1];
		e->remote_addr[2] = ctx->user_ip6[2];
		e->remote_addr[3] = ctx->user_ip6[3];
	}
	e->local_addr[0] = 0;
	e->local_addr[1] = 0;
	e->local_addr[2] = 0;
	e->local_addr[3] = 0;
	fill_actor(e);
	bpf_ringbuf_submit(e, wakeup_flags());
	return 1;
}

SEC("cgroup/connect4")
int netlens_connect4(struct bpf_sock_addr *ctx)
{
	return record_addr(ctx, KIND_CONNECT, AF_INET);
}

SEC("cgroup/connect6")
int netlens_connect6(struct bpf_sock_addr *ctx)
{
	return record_addr(ctx, KIND_CONNECT, AF_INET6);
}

SEC("cgroup/sendmsg4")
int netlens_sendmsg4(struct bpf_sock_addr *ctx)
{
	return record_addr(ctx, KIND_SENDMSG, AF_INET);
}

SEC("cgroup/sendmsg6")
int netlens_sendmsg6(struct bpf_sock_addr *ctx)
{
	return record_addr(ctx, KIND_SENDMSG, AF_INET6);
}

// DNS packets leaving a socket netlens saw connect or send: the bound 5-tuple for the
// cookie. Runs in the sender's context on egress; always lets the packet pass.
SEC("cgroup_skb/egress")
int netlens_egress(struct __sk_buff *skb)
{
	struct bpf_sock *sk = skb->sk;
	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	__u32 protocol = sk->protocol;
	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return 1;
	__u16 local_port = (__u16)sk->src_port;
	__u16 remote_port = bpf_ntohs((__u16)sk->dst_port);
	if (local_port != DNS_PORT && remote_port != DNS_PORT)
		return 1;
	__u64 cookie = bpf_get_socket_cookie(skb);
	if (!bpf_map_lookup_elem(&watched, &cookie))
		return 1;
	__u32 family = sk->family;
	if (family != AF_INET && family != AF_INET6)
		return 1;

	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count_lost();
		return 1;
	}
	e->cookie = cookie;
	e->kind = KIND_EGRESS;
	e->family = family;
	e->protocol = protocol;
	e->pad = 0;
	e->local_port = local_port;
	e->remote_port = remote_port;
	if (family == AF_INET) {
		e->local_addr[0] = sk->src_ip4;
		e->local_addr[1] = 0;
		e->local_addr[2] = 0;
		e->local_addr[3] = 0;
		e->remote_addr[0] = sk->dst_ip4;
		e->remote_addr[1] = 0;
		e->remote_addr[2] = 0;
		e->remote_addr[3] = 0;
	} else {
		e->local_addr[0] = sk->src_ip6[0];
		e->local_addr[1] = sk->src_ip6[1];
		e->local_addr[2] = sk->src_ip6[2];
		e->local_addr[3] = sk->src_ip6[3];
		e->remote_addr[0] = sk->dst_ip6[0];
		e->remote_addr[1] = sk->dst_ip6[1];
		e->remote_addr[2] = sk->dst_ip6[2];
		e->remote_addr[3] = sk->dst_ip6[3];
	}
	// The sender's context on egress of a locally generated packet; a forwarded or
	// softirq-sent packet (a retransmission) names whoever runs, so the reader keeps
	// only the 5-tuple from this event, never the actor.
	fill_actor(e);
	bpf_ringbuf_submit(e, wakeup_flags());
	return 1;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
