/*
 * netbed-confine: apply Landlock rules and a seccomp BPF program to this process, then execv()
 * the given program in place: same pid, no fork, no new namespaces.
 *
 * netbed runs it last in a chain of launchers that all exec in place:
 *   prlimit --nofile=N -- setpriv --no-new-privs ... -- netbed-confine [options] -- /usr/bin/qemu-...
 * It exists because no packaged tool on Debian bookworm applies Landlock, and bubblewrap (which
 * can load seccomp) forks and adds a mount namespace, which changes the pid netbed tracks.
 *
 * Fail closed: any error prints "netbed-confine: <what failed>: <why>" to stderr and exits 126
 * without running the program. See README.md for the options.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <linux/filter.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>

/* Debian bookworm's UAPI headers (linux 6.1) stop at Landlock ABI 2; newer parts are defined here. */
#ifndef __NR_landlock_create_ruleset /* same numbers on every architecture */
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE /* ABI 3 */
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV /* ABI 5 */
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP /* ABI 4 */
#define LANDLOCK_ACCESS_NET_BIND_TCP (1ULL << 0)
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET /* ABI 6 */
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LANDLOCK_SCOPE_SIGNAL (1ULL << 1)
#endif
#ifndef BPF_MAXINSNS
#define BPF_MAXINSNS 4096
#endif
#define NB_RULE_NET_PORT 2 /* enum landlock_rule_type: an enum, so it cannot be #ifndef-guarded */

/* The full ABI 6 layouts under our own names, so they never clash with a newer header's. The
 * kernel accepts a larger struct than it knows as long as the unknown tail is zero. */
struct nb_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;             /* ABI 6 */
};
struct nb_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

#define FS(x) LANDLOCK_ACCESS_FS_##x
/* Rights that apply to a file; the kernel rejects a rule on a non-directory with any other right. */
#define FILE_RIGHTS (FS(EXECUTE) | FS(WRITE_FILE) | FS(READ_FILE) | FS(TRUNCATE) | FS(IOCTL_DEV))
#define RO_RIGHTS (FS(READ_FILE) | FS(READ_DIR))
#define EXEC_RIGHTS (FS(EXECUTE) | FS(READ_FILE))
/* Read, write, create and remove files, dirs, sockets (e.g. a QMP socket), fifos and symlinks.
 * Not MAKE_CHAR/MAKE_BLOCK: creating device nodes is never part of a VMM's work. */
#define RW_RIGHTS (RO_RIGHTS | FS(WRITE_FILE) | FS(REMOVE_DIR) | FS(REMOVE_FILE) | FS(MAKE_DIR) | \
		   FS(MAKE_REG) | FS(MAKE_SOCK) | FS(MAKE_FIFO) | FS(MAKE_SYM) | FS(REFER) |        \
		   FS(TRUNCATE) | FS(IOCTL_DEV))

struct path_rule { const char *opt, *path; uint64_t access; };
struct port_rule { uint64_t port, access; };
/* An fd this launcher opens as root for the program: a tap queue or a listening unix socket. */
struct fd_rule { const char *opt, *spec; int fd, queues; };
/* Where opened fds wait until all are open, so moving one into place never closes another. */
#define FD_PARK 4096
#define MAX_TAP_QUEUES 64

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("netbed-confine: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(126);
}

/* fail() with ": strerror(errno)" appended; errno is saved before anything can change it. */
#define fail_errno(fmt, ...)                                                            \
	do {                                                                            \
		const char *why_ = strerror(errno);                                     \
		fail(fmt ": %s", ##__VA_ARGS__, why_);                                  \
	} while (0)

static long number(const char *opt, const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		fail("%s: '%s' is not a number in %ld..%ld", opt, s, min, max);
	return v;
}

/* All filesystem rights the running kernel's ABI knows: all of them are handled (denied unless a
 * rule grants them), so anything outside the --ro/--rw/--exec paths is off limits. */
static uint64_t fs_rights(int abi)
{
	uint64_t r = (FS(MAKE_SYM) << 1) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
	if (abi >= 2) r |= FS(REFER);
	if (abi >= 3) r |= FS(TRUNCATE);
	if (abi >= 5) r |= FS(IOCTL_DEV);
	return r;
}

/* Reads a raw classic-BPF program: struct sock_filter records of 8 bytes, little-endian
 * (u16 code, u8 jt, u8 jf, u32 k), decoded byte by byte so the host's byte order does not matter. */
static struct sock_filter *load_bpf(const char *file, unsigned short *len)
{
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) fail_errno("--seccomp %s", file);
	if (!S_ISREG(st.st_mode) || st.st_size == 0 || st.st_size % 8 || st.st_size / 8 > BPF_MAXINSNS)
		fail("--seccomp %s: not a program of 1..%d 8-byte instructions (%lld bytes)", file,
		     BPF_MAXINSNS, (long long)st.st_size);
	size_t size = (size_t)st.st_size, got = 0;
	unsigned char *raw = malloc(size);
	struct sock_filter *insns = calloc(size / 8, sizeof *insns);
	if (!raw || !insns) fail_errno("--seccomp %s", file);
	while (got < size) {
		ssize_t n = read(fd, raw + got, size - got);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) fail_errno("--seccomp %s", file);
		if (n == 0) fail("--seccomp %s: file shrank while reading", file);
		got += (size_t)n;
	}
	close(fd);
	for (size_t i = 0; i < size / 8; i++) {
		const unsigned char *b = raw + 8 * i;
		insns[i].code = (uint16_t)(b[0] | b[1] << 8);
		insns[i].jt = b[2];
		insns[i].jf = b[3];
		insns[i].k = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24;
	}
	free(raw);
	*len = (unsigned short)(size / 8);
	return insns;
}

/* "NAME=FD[,queues=N]" or "PATH=FD": the name (cut at '=') and the target fd, queues in *q. */
static char *fd_spec(const char *opt, const char *spec, int *fd, int *q)
{
	char *name = strdup(spec), *eq, *comma;
	if (!name) fail_errno("%s", opt);
	*q = 1;
	if ((comma = strstr(name, ",queues="))) {
		*q = (int)number(opt, comma + 8, 1, MAX_TAP_QUEUES);
		*comma = 0;
	}
	eq = strrchr(name, '=');
	if (!eq || eq == name) fail("%s %s: expected NAME=FD", opt, spec);
	*eq = 0;
	*fd = (int)number(opt, eq + 1, 3, FD_PARK - 1);
	return name;
}

/* Opens tap NAME once per queue (TUNSETIFF needs CAP_NET_ADMIN or the tap's owner), parked high. */
static void open_tap(const char *opt, const char *spec, int *parked, int *n)
{
	int fd, q;
	char *name = fd_spec(opt, spec, &fd, &q);
	if (strlen(name) >= IFNAMSIZ) fail("%s %s: interface names are at most %d bytes", opt, spec, IFNAMSIZ - 1);
	for (int k = 0; k < q; k++) {
		struct ifreq ifr = { 0 };
		int t = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (t < 0) fail_errno("%s %s: open /dev/net/tun", opt, spec);
		strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (q > 1 ? IFF_MULTI_QUEUE : 0);
		if (ioctl(t, TUNSETIFF, &ifr) != 0) fail_errno("%s %s: TUNSETIFF", opt, spec);
		parked[2 * *n] = fcntl(t, F_DUPFD_CLOEXEC, FD_PARK);
		parked[2 * *n + 1] = fd + k;
		if (parked[2 * (*n)++] < 0) fail_errno("%s %s: F_DUPFD", opt, spec);
		close(t);
	}
	free(name);
}

/* Binds and listens on a new unix socket at PATH (mode 0600: the caller's uid alone connects), parked high. */
static void open_listener(const char *opt, const char *spec, int *parked, int *n)
{
	int fd, q;
	char *path = fd_spec(opt, spec, &fd, &q);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (q != 1 || strlen(path) >= sizeof sa.sun_path) fail("%s %s: expected PATH=FD, PATH below %zu bytes", opt, spec, sizeof sa.sun_path);
	strcpy(sa.sun_path, path);
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old = umask(0177);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) != 0) fail_errno("%s %s: bind", opt, spec);
	umask(old);
	if (listen(s, 16) != 0) fail_errno("%s %s: listen", opt, spec);
	parked[2 * *n] = fcntl(s, F_DUPFD_CLOEXEC, FD_PARK);
	parked[2 * *n + 1] = fd;
	if (parked[2 * (*n)++] < 0) fail_errno("%s %s: F_DUPFD", opt, spec);
	close(s);
	free(path);
}

/* Moves the parked fds to their targets; dup2 clears close-on-exec, so the program inherits them. */
static void place_fds(int *parked, int n)
{
	for (int i = 0; i < n; i++)
		if (dup2(parked[2 * i], parked[2 * i + 1]) < 0) fail_errno("dup2 to fd %d", parked[2 * i + 1]);
	for (int i = 0; i < n; i++) close(parked[2 * i]);
}

static const char usage[] =
	"usage: netbed-confine [--ro PATH] [--rw PATH] [--exec PATH] [--bind-port N] [--connect-port N]\n"
	"         [--deny-tcp] [--scope abstract-unix|signal] [--require-abi N] [--best-effort]\n"
	"         [--no-landlock] [--seccomp FILE] [--status-fd N] [--tap NAME=FD[,queues=N]]\n"
	"         [--listen PATH=FD] -- /ABSOLUTE/PROGRAM [ARGS...]\n";

int main(int argc, char **argv)
{
	struct path_rule *paths = calloc((size_t)argc, sizeof *paths);
	struct port_rule *ports = calloc((size_t)argc, sizeof *ports);
	struct fd_rule *fdrules = calloc((size_t)argc, sizeof *fdrules);
	int nfdrules = 0, nqueues = 0;
	int npaths = 0, nports = 0, deny_tcp = 0, best_effort = 0, no_landlock = 0, status_fd = -1;
	long require_abi = 0;
	uint64_t scopes = 0;
	const char *seccomp_file = NULL;
	char **prog = NULL;
	if (!paths || !ports || !fdrules) fail_errno("calloc");

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--")) { prog = &argv[i + 1]; break; }
		if (!strcmp(o, "--help")) { fputs(usage, stdout); return 0; }
		if (!strcmp(o, "--deny-tcp")) { deny_tcp = 1; continue; }
		if (!strcmp(o, "--best-effort")) { best_effort = 1; continue; }
		if (!strcmp(o, "--no-landlock")) { no_landlock = 1; continue; }
		if (!v) fail("%s: missing value or unknown option\n%s", o, usage);
		i++; /* every other option takes a value */
		if (!strcmp(o, "--ro")) paths[npaths++] = (struct path_rule){ o, v, RO_RIGHTS };
		else if (!strcmp(o, "--rw")) paths[npaths++] = (struct path_rule){ o, v, RW_RIGHTS };
		else if (!strcmp(o, "--exec")) paths[npaths++] = (struct path_rule){ o, v, EXEC_RIGHTS };
		else if (!strcmp(o, "--bind-port"))
			ports[nports++] = (struct port_rule){ (uint64_t)number(o, v, 0, 65535), LANDLOCK_ACCESS_NET_BIND_TCP };
		else if (!strcmp(o, "--connect-port"))
			ports[nports++] = (struct port_rule){ (uint64_t)number(o, v, 0, 65535), LANDLOCK_ACCESS_NET_CONNECT_TCP };
		else if (!strcmp(o, "--scope") && !strcmp(v, "abstract-unix")) scopes |= LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET;
		else if (!strcmp(o, "--scope") && !strcmp(v, "signal")) scopes |= LANDLOCK_SCOPE_SIGNAL;
		else if (!strcmp(o, "--scope")) fail("--scope: unknown scope '%s' (abstract-unix or signal)", v);
		else if (!strcmp(o, "--require-abi")) require_abi = number(o, v, 1, 1000);
		else if (!strcmp(o, "--seccomp")) seccomp_file = v;
		else if (!strcmp(o, "--tap") || !strcmp(o, "--listen")) {
			int fd, q;
			free(fd_spec(o, v, &fd, &q));
			if (fd + q > FD_PARK) fail("%s %s: fds end at %d", o, v, FD_PARK - 1);
			for (int j = 0; j < nfdrules; j++)
				if (fd < fdrules[j].fd + fdrules[j].queues && fdrules[j].fd < fd + q)
					fail("%s %s: its fds overlap those of %s %s", o, v, fdrules[j].opt, fdrules[j].spec);
			fdrules[nfdrules++] = (struct fd_rule){ o, v, fd, q };
			nqueues += q;
		}
		else if (!strcmp(o, "--status-fd")) {
			status_fd = (int)number(o, v, 0, 1 << 20);
			if (fcntl(status_fd, F_GETFD) < 0) fail_errno("--status-fd %d", status_fd);
		} else fail("unknown option %s\n%s", o, usage);
	}
	if (!prog || !prog[0]) fail("no program given after --\n%s", usage);
	/* execv on the exact path: no PATH search, so what runs is what the caller named. */
	if (prog[0][0] != '/') fail("%s: the program must be an absolute path", prog[0]);
	if (no_landlock && (npaths || nports || deny_tcp || scopes))
		fail("--no-landlock conflicts with --ro/--rw/--exec/--*-port/--deny-tcp/--scope");

	/* The fds first, with every privilege the caller has: they are what it opens for the program. */
	int *parked = calloc((size_t)nqueues * 2 + 1, sizeof *parked), nparked = 0;
	if (!parked) fail_errno("calloc");
	for (int i = 0; i < nfdrules; i++) {
		if (!strcmp(fdrules[i].opt, "--tap")) open_tap(fdrules[i].opt, fdrules[i].spec, parked, &nparked);
		else open_listener(fdrules[i].opt, fdrules[i].spec, parked, &nparked);
	}
	place_fds(parked, nparked);

	/* Read the filter first: the Landlock rules may not grant access to its file. */
	unsigned short ninsns = 0;
	struct sock_filter *insns = seccomp_file ? load_bpf(seccomp_file, &ninsns) : NULL;

	int abi = (int)syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	int abi_errno = errno;
	if (abi < 0) abi = 0; /* ENOSYS: not built in; EOPNOTSUPP: disabled at boot */
	if (require_abi > abi) {
		if (abi == 0) fail("Landlock is not available (--require-abi %ld): %s", require_abi, strerror(abi_errno));
		fail("Landlock ABI %d is lower than --require-abi %ld", abi, require_abi);
	}

	int applied_abi = 0, fs_applied = 0, net_applied = 0;
	if (!no_landlock && abi == 0 && !best_effort) {
		errno = abi_errno;
		fail_errno("Landlock is not available");
	}
	/* Required for an unprivileged landlock_restrict_self and for seccomp; harmless when
	 * setpriv --no-new-privs already set it, and wanted anyway for a confined VMM. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail_errno("prctl(PR_SET_NO_NEW_PRIVS)");
	if (!no_landlock && abi > 0) {
		int want_net = nports > 0 || deny_tcp;
		if (want_net && abi < 4) {
			if (!best_effort) fail("Landlock ABI %d lacks TCP port rules (needs 4)", abi);
			want_net = 0; /* best effort: the network stays unrestricted */
		}
		if (scopes && abi < 6) {
			if (!best_effort) fail("Landlock ABI %d lacks scopes (needs 6)", abi);
			scopes = 0;
		}
		struct nb_ruleset_attr attr = {
			.handled_access_fs = fs_rights(abi),
			.handled_access_net = want_net ? LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP : 0,
			.scoped = scopes,
		};
		int ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr, sizeof attr, 0);
		if (ruleset < 0) fail_errno("landlock_create_ruleset");

		for (int i = 0; i < npaths; i++) {
			struct stat st;
			int fd = open(paths[i].path, O_PATH | O_CLOEXEC);
			if (fd < 0 || fstat(fd, &st) != 0) fail_errno("%s %s", paths[i].opt, paths[i].path);
			struct landlock_path_beneath_attr pb = {
				/* Drop rights this ABI lacks (e.g. --rw's IOCTL_DEV before ABI 5) and, on a
				 * non-directory, the directory-only rights the kernel would reject (EINVAL). */
				.allowed_access = paths[i].access & attr.handled_access_fs & (S_ISDIR(st.st_mode) ? ~0ULL : FILE_RIGHTS),
				.parent_fd = fd,
			};
			if (syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) != 0)
				fail_errno("landlock_add_rule %s %s", paths[i].opt, paths[i].path);
			close(fd);
			fs_applied++;
		}
		for (int i = 0; want_net && i < nports; i++) {
			struct nb_net_port_attr np = { ports[i].access, ports[i].port };
			if (syscall(__NR_landlock_add_rule, ruleset, NB_RULE_NET_PORT, &np, 0) != 0)
				fail_errno("landlock_add_rule port %llu", (unsigned long long)ports[i].port);
			net_applied++;
		}
		if (syscall(__NR_landlock_restrict_self, ruleset, 0) != 0) fail_errno("landlock_restrict_self");
		close(ruleset);
		applied_abi = abi;
	} else {
		scopes = 0; /* not applied: report none */
	}

	if (status_fd >= 0) {
		const char *sc = scopes == (LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL) ? "abstract-unix,signal"
				 : scopes == LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET ? "abstract-unix"
				 : scopes == LANDLOCK_SCOPE_SIGNAL ? "signal" : "none";
		if (dprintf(status_fd, "landlock-abi=%d fs-rules=%d net-rules=%d scopes=%s seccomp-insns=%u\n",
			    applied_abi, fs_applied, net_applied, sc, ninsns) < 0)
			fail_errno("--status-fd %d", status_fd);
		/* Closed by the exec, not now: the caller's EOF then means "exec'd or failed". Standard
		 * streams (e.g. --status-fd 2) stay open: the program uses them too. */
		if (status_fd > 2 && fcntl(status_fd, F_SETFD, FD_CLOEXEC) != 0)
			fail_errno("--status-fd %d", status_fd);
	}

	/* Last, right before execve: the filter may deny anything we would still need, so it must
	 * itself allow execve. No TSYNC: this process is single-threaded. */
	if (insns) {
		struct sock_fprog fprog = { .len = ninsns, .filter = insns };
		if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0)
			fail_errno("seccomp(SECCOMP_SET_MODE_FILTER) %s", seccomp_file);
	}
	execv(prog[0], prog);
	fail_errno("execv %s", prog[0]);
}
