// SPDX-License-Identifier: GPL-2.0 OR MIT
//
// netlens: which TCP sockets changed since the last refresh.
//
// A full sock_diag dump of 10,000 TCP sockets with tcp_info costs the kernel about
// 12 ms (measured on a 2-core VM, Linux 6.18), more than netlens's whole budget per
// refresh. This `iter/tcp` program walks the same sockets for about 4 ms and writes
// one fixed record per socket: its cookie, its ends and a fingerprint of what
// sock_diag would report about it. netlens compares each fingerprint with the last
// walk's, asks sock_diag for the sockets whose fingerprint changed, by exact lookup,
// and keeps its copy of the rest.
//
// The fingerprint mixes the few fields that every change moves (see the program).
// Comparing in netlens, not in socket-local storage here, keeps the walk from
// writing to every socket (measured: bpf_sk_storage_get alone was a sixth of the
// walk). The "ms since last send/receive/ack" figures and a timer's time left
// change with the clock alone; netlens advances those itself.
// What none of these catch (a setsockopt that changes the congestion algorithm or the
// TOS, a path MTU update) is caught by netlens reading every socket every 30 s.
//
// A time-wait socket's fingerprint is its expiry (it changes only when a FIN or a
// reset makes the kernel re-arm it). Request sockets have none: netlens reads them
// again every time.
//
// Between walks, netlens learns which sockets changed from the kernel's own
// tracepoints (the tp_btf programs below): a segment received (tcp_probe), the
// application's sends and reads (sock_send_length, sock_recv_length), a
// retransmission, a state change. Each marks its socket once per netlens refresh
// (a generation number in socket-local storage) and queues the socket's record on a
// ring buffer; netlens then reads exactly those sockets. That costs the kernel
// nothing for sockets that do nothing, where even the walk costs a few
// milliseconds per refresh at 10,000 sockets (the hash table's 262,144 buckets, a
// lock per socket). netlens still walks every few seconds, which catches what no
// tracepoint announces (a delayed ACK sent by a timer, a keepalive probe that gets
// no answer, a time-wait socket that expires).
//
// The iterator lists the sockets of the network namespace of the thread that opens
// it (the kernel's bpf_iter_tcp filters by namespace), so --netns needs nothing here.
//
// Kernel structures are declared below with only the fields read, marked
// preserve_access_index: clang emits CO-RE relocations by field name, and the loader
// (aya) resolves them against the running kernel's BTF, so the object does not
// depend on the headers of the machine that built it.
//
// Built by bpf/build (clang -target bpf, then llvm-strip -g); the object is committed
// so building netlens needs no clang. See bpf/README.md.

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define TCP_SYN_SENT 2
#define TCP_TIME_WAIT 6

// Record flags (netlens's `connections::watch`).
#define FLAG_FULL 2      // a full socket (not time-wait or request): it has a fingerprint

struct seq_file;

struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));

struct in6_addr {
	union {
		__u32 u6_addr32[4];
	} in6_u;
} __attribute__((preserve_access_index));

struct net {
	__u64 net_cookie;
} __attribute__((preserve_access_index));

typedef struct {
	struct net *net;
} possible_net_t;

struct sock_common {
	possible_net_t skc_net;
	__be32 skc_daddr;
	__be32 skc_rcv_saddr;
	__be16 skc_dport;
	__u16 skc_num;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	int skc_bound_dev_if;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
} __attribute__((preserve_access_index));

struct timer_list {
	unsigned long expires;
} __attribute__((preserve_access_index));

typedef struct {
	int counter;
} atomic_t;

struct sock {
	struct sock_common __sk_common;
	__u16 sk_protocol;
	struct timer_list sk_timer;
	__u32 sk_ack_backlog;
	atomic_t sk_drops;
} __attribute__((preserve_access_index));

struct inet_sock {
	struct sock sk;
} __attribute__((preserve_access_index));

struct inet_connection_sock {
	struct inet_sock icsk_inet;
	struct timer_list icsk_retransmit_timer;
	__u8 icsk_pending;
} __attribute__((preserve_access_index));

struct tcp_sock {
	struct inet_connection_sock inet_conn;
	__u32 segs_in;
	__u32 segs_out;
	__u32 copied_seq;
	__u32 write_seq;
} __attribute__((preserve_access_index));

struct inet_timewait_sock {
	unsigned char tw_substate;
	struct timer_list tw_timer;
} __attribute__((preserve_access_index));

struct tcp_timewait_sock {
	struct inet_timewait_sock tw_sk;
} __attribute__((preserve_access_index));

struct bpf_iter__tcp {
	struct bpf_iter_meta *meta;
	struct sock_common *sk_common;
} __attribute__((preserve_access_index));

// One record per socket; the layout is mirrored by collectors/src/connections/watch.rs.
struct record {
	__u64 cookie;         // sock_diag's cookie for this socket
	__u8 family;          // AF_INET or AF_INET6
	__u8 state;           // TCP_* as sock_diag reports it
	__u8 flags;           // FLAG_FULL or 0
	__u8 pad;
	__u32 bound_dev_if;   // SO_BINDTODEVICE interface, 0 for none
	__u16 local_port;     // host order
	__u16 remote_port;    // host order
	__u32 pad2;
	__u32 local_addr[4];  // network order; IPv4 in the first word
	__u32 remote_addr[4]; // network order
	__u64 fingerprint;    // full sockets: what changes when anything reported does
};

// What netlens sets: the cookie of the network namespace it watches (0: none yet,
// nothing is marked) and the number of its current refresh.
struct watch_config {
	__u64 netns;
	__u64 generation;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct watch_config);
} config SEC(".maps");

// Marks the ring could not take (it was full): netlens walks instead.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

// Per socket: the generation it was last marked in.
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} marked SEC(".maps");

// The records of the sockets marked, for netlens to read at its next refresh.
// 8,192 records: more sockets changing in one refresh than that make netlens walk.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 512 * 1024);
} changes SEC(".maps");

// Fold one value into a fingerprint (a multiply-xorshift mix: any change in any
// value changes the result but for a 2^-64 chance).
static __always_inline __u64 mix(__u64 h, __u64 v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

// The cookie, family and both ends of a socket.
static __always_inline void fill(struct record *r, struct sock_common *skc)
{
	r->cookie = bpf_get_socket_cookie(skc);
	r->family = skc->skc_family;
	r->bound_dev_if = skc->skc_bound_dev_if;
	r->local_port = skc->skc_num;
	r->remote_port = __builtin_bswap16(skc->skc_dport);
	if (r->family == AF_INET6) {
		for (int i = 0; i < 4; i++) {
			r->local_addr[i] = skc->skc_v6_rcv_saddr.in6_u.u6_addr32[i];
			r->remote_addr[i] = skc->skc_v6_daddr.in6_u.u6_addr32[i];
		}
	} else {
		r->local_addr[0] = skc->skc_rcv_saddr;
		r->remote_addr[0] = skc->skc_daddr;
	}
}

SEC("iter/tcp")
int sockets(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	if (!skc)
		return 0;

	struct record r = {};
	fill(&r, skc);
	r.state = skc->skc_state;

	struct tcp_sock *tp = bpf_skc_to_tcp_sock(skc);
	if (tp) {
		r.flags = FLAG_FULL;
		// Every segment in or out moves segs_in or segs_out (data, ACKs, window
		// updates, retransmissions, probes), and with them bytes, sequence numbers,
		// the RTT estimate, the congestion window and the socket buffers; the
		// application's reads and writes move copied_seq and write_seq; a timer armed
		// or re-armed moves its expiry; a connection queued on a listener moves the
		// backlog; a segment dropped at the socket moves sk_drops.
		__u64 h = r.state;
		h = mix(h, tp->segs_in);
		h = mix(h, tp->segs_out);
		h = mix(h, tp->copied_seq);
		h = mix(h, tp->write_seq);
		h = mix(h, tp->inet_conn.icsk_pending);
		h = mix(h, tp->inet_conn.icsk_retransmit_timer.expires);
		h = mix(h, tp->inet_conn.icsk_inet.sk.sk_timer.expires);
		h = mix(h, tp->inet_conn.icsk_inet.sk.sk_ack_backlog);
		h = mix(h, tp->inet_conn.icsk_inet.sk.sk_drops.counter);
		r.fingerprint = h;
	} else if (r.state == TCP_TIME_WAIT) {
		struct tcp_timewait_sock *tw = bpf_skc_to_tcp_timewait_sock(skc);
		if (tw) {
			r.flags = FLAG_FULL;
			__u64 h = r.state;
			h = mix(h, tw->tw_sk.tw_substate);
			h = mix(h, tw->tw_sk.tw_timer.expires);
			r.fingerprint = h;
		}
	}
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

// Mark a TCP socket of the watched namespace as changed, once per generation.
// `state`: the state it is entering (inet_sock_set_state traces before the change).
static __always_inline void mark(struct sock *sk, int state)
{
	if (sk->sk_protocol != IPPROTO_TCP)
		return;
	struct sock_common *skc = &sk->__sk_common;
	unsigned short family = skc->skc_family;
	if (family != AF_INET && family != AF_INET6)
		return;
	__u32 zero = 0;
	struct watch_config *watch = bpf_map_lookup_elem(&config, &zero);
	if (!watch || !watch->netns || skc->skc_net.net->net_cookie != watch->netns)
		return;
	// A connect enters SYN_SENT before its local port is chosen: no record yet (its
	// next event, or netlens's next walk, brings the socket with both ends).
	if (state == TCP_SYN_SENT && !skc->skc_num)
		return;
	__u64 generation = watch->generation;
	__u64 *seen = bpf_sk_storage_get(&marked, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!seen || *seen == generation)
		return;
	struct record *r = bpf_ringbuf_reserve(&changes, sizeof(*r), 0);
	if (!r) {
		__u64 *count = bpf_map_lookup_elem(&lost, &zero);
		if (count)
			__sync_fetch_and_add(count, 1);
		return;
	}
	*seen = generation;
	__builtin_memset(r, 0, sizeof(*r));
	fill(r, skc);
	r->state = state;
	// Nobody waits on the ring (netlens drains it at its refresh): no wake-up.
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

SEC("tp_btf/tcp_probe")
int segment_received(__u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	mark(sk, sk->__sk_common.skc_state);
	return 0;
}

SEC("tp_btf/sock_send_length")
int application_sent(__u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	mark(sk, sk->__sk_common.skc_state);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int application_read(__u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	mark(sk, sk->__sk_common.skc_state);
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int retransmitted(__u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	mark(sk, sk->__sk_common.skc_state);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int state_changed(__u64 *ctx)
{
	struct sock *sk = (struct sock *)ctx[0];
	mark(sk, (int)ctx[2]);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
