/*
 * llmtap-capture: llmtap's own capture process (docs/live.md "Capture process").
 *
 * The one privileged part of a live capture (DESIGN §2), like tcpdump or dumpcap, and small enough
 * to read: it opens an interface with libpcap, writes classic pcap to stdout (the stream llmtap
 * already reads from tcpdump) and libpcap's drop counters to stderr as it runs. It exists because
 * neither tool gives both things issue 6 asks for:
 *   - tcpdump reports drops any time (SIGUSR1), but only in immediate mode does it hand packets
 *     over at once, and immediate mode means TPACKET_V2, one snaplen-sized slot and one wake-up
 *     per packet: it drops at ~60,000 packets/s here.
 *   - dumpcap uses TPACKET_V3 (packets packed into blocks, one wake-up per block), but reads its
 *     drop counters only after its capture loop ends.
 * This program uses TPACKET_V3 (not immediate mode) with a short block timeout, so a packet is
 * handed over at most TIMEOUT ms after it was captured, and prints pcap_stats every STATS ms.
 *
 *   llmtap-capture -i IFACE [-s SNAPLEN] [-B KIB] [-t TIMEOUT_MS] [-S STATS_MS] [--] [FILTER]
 *   llmtap-capture --version
 *
 * stderr, one line each (llmtap reads them: src/capture/live-llmtap-capture-text.ts):
 *   llmtap-capture: listening on IFACE, link-type NAME (DESCRIPTION), snapshot length N bytes
 *   llmtap-capture: stats captured=N received=N dropped_kernel=N dropped_interface=N
 *   llmtap-capture: final captured=N received=N dropped_kernel=N dropped_interface=N
 *   llmtap-capture: IFACE: No such device exists (…) | You don't have permission to capture on
 *     that device (…) | That device is not up | can't parse filter expression: …
 * "captured" is what this program wrote; the other three are pcap_stats' ps_recv, ps_drop and
 * ps_ifdrop (since the capture began).
 *
 * Stopping: SIGINT or SIGTERM. dumpcap leaves its loop at once and never writes the block still
 * open in the kernel (live-capture-tool.ts); this program goes on reading for two block timeouts,
 * so every packet captured before the signal has been handed over and is written, then writes the
 * final counters and exits 0. A second signal ends the wait at once.
 *
 * Build: native/build-capture.js (npm run build:capture).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/filter.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#endif

#define PROG "llmtap-capture"
#define VERSION "1"

/* libpcap's largest snapshot length (MAXIMUM_SNAPLEN), tcpdump's default. */
#define MAX_SNAPLEN 262144
/* pcap_set_buffer_size takes an int of bytes. */
#define MAX_BUFFER_KIB (INT_MAX / 1024)
/* The filter is one argument; a longer one is a mistake, not a filter. */
#define MAX_FILTER_LEN 65536
/* stdout buffer: one write(2) per this many bytes at most, and at the end of each batch. */
#define OUT_BUFFER (1 << 20)

static volatile sig_atomic_t stop_signals = 0;
static volatile sig_atomic_t stats_asked = 0;
/* Self-pipe: a signal handler writes a byte, the poll loop wakes (no race with poll's start). */
static int wake_pipe[2] = {-1, -1};

struct writer {
	pcap_dumper_t *dumper;
	uint64_t captured;
};

static void on_signal(int sig)
{
	int saved = errno;
	if (sig == SIGUSR1)
		stats_asked = 1;
	else if (stop_signals < 2)
		stop_signals++;
	/* A full pipe already holds a wake-up: a failed write loses nothing. */
	ssize_t ignored = write(wake_pipe[1], "x", 1);
	(void)ignored;
	errno = saved;
}

static void write_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
	struct writer *w = (struct writer *)user;
	pcap_dump((u_char *)w->dumper, h, bytes);
	w->captured++;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(void)
{
	fprintf(stderr, "usage: " PROG " -i IFACE [-s SNAPLEN] [-B KIB] [-t TIMEOUT_MS] [-S STATS_MS] [--] [FILTER]\n");
}

/* A whole decimal number in [min, max], else -1. */
static long number(const char *s, long min, long max)
{
	char *end = NULL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	return v;
}

static void write_stats(pcap_t *p, const struct writer *w, const char *kind)
{
	struct pcap_stat st;
	if (pcap_stats(p, &st) != 0) {
		fprintf(stderr, PROG ": warning: pcap_stats: %s\n", pcap_geterr(p));
		return;
	}
	fprintf(stderr, PROG ": %s captured=%" PRIu64 " received=%u dropped_kernel=%u dropped_interface=%u\n", kind, w->captured,
		st.ps_recv, st.ps_drop, st.ps_ifdrop);
}

/* pcap_activate failed: tcpdump's wording for the cases llmtap explains (live-llmtap-capture-text.ts). */
static void activate_failed(pcap_t *p, const char *iface, int rc)
{
	const char *why = pcap_geterr(p);
	switch (rc) {
	case PCAP_ERROR_NO_SUCH_DEVICE:
		fprintf(stderr, PROG ": %s: No such device exists (%s)\n", iface, why);
		break;
	case PCAP_ERROR_PERM_DENIED:
		fprintf(stderr, PROG ": %s: You don't have permission to capture on that device (%s)\n", iface, why);
		break;
	case PCAP_ERROR_IFACE_NOT_UP:
		fprintf(stderr, PROG ": %s: That device is not up\n", iface);
		break;
	default:
		fprintf(stderr, PROG ": %s: %s (%s)\n", iface, pcap_statustostr(rc), why);
	}
}

#ifdef __linux__
/* The device is a loopback device (IFF_LOOPBACK): every packet passes the capture twice. */
static int is_loopback(int fd, const char *iface)
{
	struct ifreq ifr;
	if (strlen(iface) >= sizeof ifr.ifr_name)
		return 0;
	memset(&ifr, 0, sizeof ifr);
	memcpy(ifr.ifr_name, iface, strlen(iface));
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0)
		return 0;
	return (ifr.ifr_flags & IFF_LOOPBACK) != 0;
}

/*
 * On a loopback device Linux hands the packet socket every packet twice (sent, then received) and
 * both copies take ring space before libpcap throws the sent one away in user space. `inbound`
 * in the kernel filter keeps the sent copies out of the ring, but libpcap filters the packets of
 * the first ring block after pcap_setfilter in user space, where `inbound` (an SKF_AD_PKTTYPE
 * load) fails: with TPACKET_V3 that block is up to TIMEOUT ms of packets, lost uncounted
 * (libpcap issues #1254, #1482; dumpcap loses 241 packets at 60,000 packets/s that way).
 * So libpcap gets the user's filter (which works in user space, for that first block), and the
 * kernel gets `inbound and (FILTER)` attached here directly. On a device that is not "cooked"
 * (lo is Ethernet) libpcap hands the kernel the compiled program unchanged (pcap-linux.c
 * fix_program), so attaching it ourselves is what libpcap would do. 0, or -1 with a message.
 */
static int attach_inbound(pcap_t *p, const char *filter)
{
	struct bpf_program prog;
	char *text;
	size_t n = strlen(filter) + 32;
	text = malloc(n);
	if (text == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	if (filter[0] == '\0')
		snprintf(text, n, "inbound");
	else
		snprintf(text, n, "inbound and (%s)", filter);
	if (pcap_compile(p, &prog, text, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		fprintf(stderr, PROG ": %s\n", pcap_geterr(p));
		free(text);
		return -1;
	}
	free(text);
	if (prog.bf_len == 0 || prog.bf_len > BPF_MAXINSNS) {
		fprintf(stderr, PROG ": filter too long for the kernel (%u instructions)\n", prog.bf_len);
		pcap_freecode(&prog);
		return -1;
	}
	/* struct bpf_insn and struct sock_filter have the same layout; copied, not cast. */
	struct sock_filter *insns = calloc(prog.bf_len, sizeof *insns);
	if (insns == NULL) {
		fprintf(stderr, PROG ": out of memory\n");
		pcap_freecode(&prog);
		return -1;
	}
	for (u_int i = 0; i < prog.bf_len; i++) {
		insns[i].code = prog.bf_insns[i].code;
		insns[i].jt = prog.bf_insns[i].jt;
		insns[i].jf = prog.bf_insns[i].jf;
		insns[i].k = prog.bf_insns[i].k;
	}
	struct sock_fprog fprog = {.len = (unsigned short)prog.bf_len, .filter = insns};
	int rc = setsockopt(pcap_fileno(p), SOL_SOCKET, SO_ATTACH_FILTER, &fprog, sizeof fprog);
	int err = errno;
	free(insns);
	pcap_freecode(&prog);
	if (rc != 0) {
		fprintf(stderr, PROG ": SO_ATTACH_FILTER: %s\n", strerror(err));
		return -1;
	}
	return 0;
}
#endif

static int set_filter(pcap_t *p, const char *filter)
{
	struct bpf_program prog;
	if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		/* libpcap's words: "can't parse filter expression: syntax error" and the like. */
		fprintf(stderr, PROG ": %s\n", pcap_geterr(p));
		return -1;
	}
	int rc = pcap_setfilter(p, &prog);
	pcap_freecode(&prog);
	if (rc != 0) {
		fprintf(stderr, PROG ": cannot set the filter: %s\n", pcap_geterr(p));
		return -1;
	}
	return 0;
}

static int install_handlers(void)
{
	if (pipe(wake_pipe) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		int fl = fcntl(wake_pipe[i], F_GETFL);
		if (fl < 0 || fcntl(wake_pipe[i], F_SETFL, fl | O_NONBLOCK) != 0 || fcntl(wake_pipe[i], F_SETFD, FD_CLOEXEC) != 0)
			return -1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* SA_RESTART: a signal during a write blocked on a full pipe (llmtap holding back) must not
	 * fail it: stdio does not retry EINTR, the stream would be in error and the batch lost.
	 * poll(2) is never restarted (signal(7)), and the self-pipe wakes it anyway. */
	sa.sa_flags = SA_RESTART;
	if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0)
		return -1;
	/* A reader that went away is a write error, reported, not a silent death. */
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	if (sigaction(SIGPIPE, &sa, NULL) != 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *iface = NULL;
	long snaplen = MAX_SNAPLEN, buffer_kib = 65536, timeout_ms = 50, stats_ms = 1000;
	int opt;

	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf(PROG " version " VERSION "\n%s\n", pcap_lib_version());
		return 0;
	}
	while ((opt = getopt(argc, argv, "+i:s:B:t:S:")) != -1) {
		switch (opt) {
		case 'i':
			iface = optarg;
			break;
		case 's':
			snaplen = number(optarg, 1, MAX_SNAPLEN);
			break;
		case 'B':
			buffer_kib = number(optarg, 1, MAX_BUFFER_KIB);
			break;
		case 't':
			timeout_ms = number(optarg, 1, 1000);
			break;
		case 'S':
			stats_ms = number(optarg, 0, 3600000);
			break;
		default:
			usage();
			return 2;
		}
		if (snaplen < 0 || buffer_kib < 0 || timeout_ms < 0 || stats_ms < 0) {
			fprintf(stderr, PROG ": -%c %s: out of range\n", opt, optarg);
			return 2;
		}
	}
	if (iface == NULL || argc - optind > 1) {
		usage();
		return 2;
	}
	const char *filter = optind < argc ? argv[optind] : "";
	if (strlen(filter) > MAX_FILTER_LEN) {
		fprintf(stderr, PROG ": can't parse filter expression: longer than %d characters\n", MAX_FILTER_LEN);
		return 2;
	}
	if (install_handlers() != 0) {
		fprintf(stderr, PROG ": cannot set up signals: %s\n", strerror(errno));
		return 1;
	}

	char errbuf[PCAP_ERRBUF_SIZE];
	errbuf[0] = '\0';
	pcap_t *p = pcap_create(iface, errbuf);
	if (p == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", iface, errbuf);
		return 1;
	}
	/* Not immediate mode: TPACKET_V3, packets packed into blocks the kernel hands over when full
	 * or timeout_ms after their first packet (the delivery lag llmtap allows for). */
	if (pcap_set_snaplen(p, (int)snaplen) != 0 || pcap_set_promisc(p, 1) != 0 || pcap_set_timeout(p, (int)timeout_ms) != 0 ||
	    pcap_set_buffer_size(p, (int)(buffer_kib * 1024)) != 0 || pcap_set_immediate_mode(p, 0) != 0) {
		fprintf(stderr, PROG ": %s: cannot configure the capture: %s\n", iface, pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	int rc = pcap_activate(p);
	if (rc < 0) {
		activate_failed(p, iface, rc);
		pcap_close(p);
		return 1;
	}
	if (rc > 0)
		fprintf(stderr, PROG ": warning: %s: %s (%s)\n", iface, pcap_statustostr(rc), pcap_geterr(p));

#ifdef DLT_LINUX_SLL2
	/* On `any`, Linux cooked v2 (it names the interface), as tcpdump 4.99 asks for; v1 otherwise. */
	if (strcmp(iface, "any") == 0 && pcap_set_datalink(p, DLT_LINUX_SLL2) != 0)
		fprintf(stderr, PROG ": warning: any: staying with link-type %d: %s\n", pcap_datalink(p), pcap_geterr(p));
#endif
	int inbound = 0;
#ifdef __linux__
	inbound = strcmp(iface, "any") != 0 && pcap_datalink(p) == DLT_EN10MB && is_loopback(pcap_fileno(p), iface);
#endif
	if (set_filter(p, filter) != 0) {
		pcap_close(p);
		return 1;
	}
#ifdef __linux__
	if (inbound && attach_inbound(p, filter) != 0) {
		pcap_close(p);
		return 1;
	}
#endif
	/* Non-blocking reads under our own poll(2): signals and the stats clock wake it, not libpcap. */
	if (pcap_setnonblock(p, 1, errbuf) != 0) {
		fprintf(stderr, PROG ": %s: %s\n", iface, errbuf);
		pcap_close(p);
		return 1;
	}
	int fd = pcap_get_selectable_fd(p);
	if (fd < 0) {
		fprintf(stderr, PROG ": %s: no selectable descriptor\n", iface);
		pcap_close(p);
		return 1;
	}
	static char outbuf[OUT_BUFFER];
	if (setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf) != 0) {
		fprintf(stderr, PROG ": cannot buffer stdout\n");
		pcap_close(p);
		return 1;
	}
	struct writer w = {.dumper = pcap_dump_fopen(p, stdout), .captured = 0};
	if (w.dumper == NULL || pcap_dump_flush(w.dumper) != 0) {
		fprintf(stderr, PROG ": cannot write to stdout: %s\n", pcap_geterr(p));
		pcap_close(p);
		return 1;
	}
	int dlt = pcap_datalink(p);
	const char *dlt_name = pcap_datalink_val_to_name(dlt);
	const char *dlt_desc = pcap_datalink_val_to_description(dlt);
	fprintf(stderr, PROG ": listening on %s, link-type %s (%s), snapshot length %ld bytes, buffer %ld KiB, block timeout %ld ms%s\n",
		iface, dlt_name != NULL ? dlt_name : "unknown", dlt_desc != NULL ? dlt_desc : "unknown", snaplen, buffer_kib, timeout_ms,
		inbound ? ", inbound only" : "");
	/* Counters from the start: a reader never has to say "unknown" while this runs. */
	write_stats(p, &w, "stats");

	int status = 0;
	int64_t next_stats = stats_ms > 0 ? now_ms() + stats_ms : -1;
	int64_t deadline = -1;
	for (;;) {
		int64_t now = now_ms();
		if (stop_signals >= 2)
			break;
		if (stop_signals == 1 && deadline < 0)
			deadline = now + 2 * timeout_ms;
		if (deadline >= 0 && now >= deadline)
			break;
		if (stats_asked || (next_stats >= 0 && now >= next_stats)) {
			stats_asked = 0;
			write_stats(p, &w, "stats");
			if (next_stats >= 0)
				next_stats = now + stats_ms;
		}
		int64_t wait = -1;
		if (next_stats >= 0)
			wait = next_stats - now;
		if (deadline >= 0 && (wait < 0 || deadline - now < wait))
			wait = deadline - now;
		struct pollfd fds[2] = {{.fd = fd, .events = POLLIN}, {.fd = wake_pipe[0], .events = POLLIN}};
		int r = poll(fds, 2, wait < 0 ? -1 : (int)(wait > INT_MAX ? INT_MAX : wait));
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
			status = 1;
			break;
		}
		if (r > 0 && (fds[1].revents & POLLIN) != 0) {
			char drain[64];
			while (read(wake_pipe[0], drain, sizeof drain) > 0) {
			}
		}
		/* Also after a wake-up that was not the socket's: a cheap no-op then. The interface going
		 * away (POLLERR) is reported by libpcap's read. */
		int n = pcap_dispatch(p, -1, write_packet, (u_char *)&w);
		if (n < 0 && n != PCAP_ERROR_BREAK) {
			fprintf(stderr, PROG ": %s: capture failed: %s\n", iface, pcap_geterr(p));
			status = 1;
			break;
		}
		if (n > 0 && pcap_dump_flush(w.dumper) != 0) {
			fprintf(stderr, PROG ": cannot write to stdout: %s\n", strerror(errno));
			status = 1;
			break;
		}
	}
	/* Blocks handed over while we were leaving. */
	if (status == 0 && pcap_dispatch(p, -1, write_packet, (u_char *)&w) < 0)
		status = 1;
	if (pcap_dump_flush(w.dumper) != 0 && status == 0) {
		fprintf(stderr, PROG ": cannot write to stdout: %s\n", strerror(errno));
		status = 1;
	}
	write_stats(p, &w, "final");
	pcap_dump_close(w.dumper);
	pcap_close(p);
	return status;
}
