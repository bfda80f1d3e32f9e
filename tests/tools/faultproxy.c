/* faultproxy.c - a test-only HTTP proxy on 127.0.0.1 that misbehaves on
 * purpose, for bonsai-fetch's download tests (tests/fetch-http.t).
 *
 *   faultproxy PORTFILE UPSTREAM_PORT PLAN LOG
 *
 * Listens on a free loopback port (written to PORTFILE), forwards each
 * request to 127.0.0.1:UPSTREAM_PORT, and treats connection number i
 * according to PLAN[i] (after the plan: 'o'; a plan ending in '+' repeats
 * its mode before the '+' for ever):
 *   o  pass through          4  answer 429 (Retry-After: 0)
 *   c  cut the connection after 60000 bytes of the response
 *   5  answer 500            x  flip a byte 50000 bytes into the response
 *   e  answer 200 without a Content-Length and send zeros without end
 *      (300 MB at most)
 *   r  ignore Range (ask upstream for the whole file) and cut the
 *      connection 1000 bytes into the response
 *   t  trickle: the response's headers, then 2 bytes a second (60 s at most)
 *   L  add a Link rel="next" header pointing at the request's own URL
 *   N  add a Link rel="next" header to a new URL each time (&page=i)
 * Each connection is logged to LOG as
 * "i mode request-line | range | accept-encoding | auth" (- when absent),
 * and once it ends as "i sent BYTES".
 * Bounded: exits after 2000 connections or 120 s. */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <unistd.h>

#define CUT_AT 60000
#define FLIP_AT 50000
#define SHORT_CUT_AT 1000
#define ENDLESS_MAX ((size_t)300 << 20)
#define TRICKLE_MAX_S 60

static int own_port;

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static void log_sent(const char *logpath, int conn, size_t sent)
{
	FILE *lg = fopen(logpath, "a");
	if (lg) {
		fprintf(lg, "%d sent %zu\n", conn, sent);
		fclose(lg);
	}
}

static size_t endless(int cfd)
{
	const char *h = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n";
	if (write_all(cfd, h, strlen(h)) < 0)
		return 0;
	static char zeros[65536];
	size_t sent = 0;
	while (sent < ENDLESS_MAX && write_all(cfd, zeros, sizeof zeros) == 0)
		sent += sizeof zeros;
	return sent;
}

static void handle(int cfd, int upstream_port, char mode, int conn, const char *logpath)
{
	char req[16384];
	size_t n = 0;
	while (n < sizeof req - 1) {
		ssize_t k = read(cfd, req + n, sizeof req - 1 - n);
		if (k <= 0)
			return;
		n += (size_t)k;
		req[n] = 0;
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	char *hdr_end = strstr(req, "\r\n\r\n");
	if (!hdr_end)
		return;
	/* Log the request line, its Range and Accept-Encoding, and whether a
	 * token came along. */
	char line[1024] = "", range[128] = "-", enc[128] = "-", *auth = "noauth";
	sscanf(req, "%1023[^\r]", line);
	for (char *p = strstr(req, "\r\n"); p && p < hdr_end; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, "Range:", 6) == 0)
			sscanf(p + 8, " %127[^\r]", range);
		if (strncasecmp(p + 2, "Accept-Encoding:", 16) == 0)
			sscanf(p + 18, " %127[^\r]", enc);
		if (strncasecmp(p + 2, "Authorization: Bearer ", 22) == 0)
			auth = "auth";
	}
	FILE *lg = fopen(logpath, "a");
	if (lg) {
		fprintf(lg, "%d %c %s | %s | %s | %s\n", conn, mode, line, range, enc, auth);
		fclose(lg);
	}
	if (mode == 'e') {
		log_sent(logpath, conn, endless(cfd));
		return;
	}
	if (mode == '4' || mode == '5') {
		const char *r = mode == '4' ?
			"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n" :
			"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		write_all(cfd, r, strlen(r));
		return;
	}
	/* Rebuild the request with Connection: close so that the upstream
	 * ends the response by closing. */
	char out[17000];
	size_t o = 0;
	char *p = req;
	while (p < hdr_end + 2) {
		char *e = strstr(p, "\r\n");
		if (strncasecmp(p, "Connection:", 11) != 0 && !(mode == 'r' && strncasecmp(p, "Range:", 6) == 0)) {
			memcpy(out + o, p, (size_t)(e + 2 - p));
			o += (size_t)(e + 2 - p);
		}
		p = e + 2;
	}
	o += (size_t)sprintf(out + o, "Connection: close\r\n\r\n");
	int ufd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in ua = {.sin_family = AF_INET, .sin_port = htons((uint16_t)upstream_port)};
	ua.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ufd < 0 || connect(ufd, (struct sockaddr *)&ua, sizeof ua) < 0 || write_all(ufd, out, o) < 0)
		return;
	char buf[65536];
	size_t sent = 0;
	int first = 1;
	for (;;) {
		ssize_t k = read(ufd, buf, sizeof buf);
		if (k <= 0)
			break;
		if (first && (mode == 'L' || mode == 'N')) {
			/* the Link header goes right after the status line */
			char *eol = memchr(buf, '\n', (size_t)k), path[1024] = "/", link[1400] = "";
			sscanf(line, "%*s %1000s", path);
			if (mode == 'L')
				snprintf(link, sizeof link, "Link: <http://127.0.0.1:%d%s>; rel=\"next\"\r\n", own_port, path);
			else
				snprintf(link, sizeof link, "Link: <http://127.0.0.1:%d%.*s%spage=%d>; rel=\"next\"\r\n",
					 own_port, (int)strcspn(path, "&"), path, strchr(path, '?') ? "&" : "?", conn);
			if (eol) {
				size_t head = (size_t)(eol + 1 - buf);
				write_all(cfd, buf, head);
				write_all(cfd, link, strlen(link));
				memmove(buf, buf + head, (size_t)k - head);
				k -= (ssize_t)head;
				sent += head;
			}
		}
		if (first && mode == 't') {
			/* headers at once, then the body 2 bytes a second */
			char *end = memmem(buf, (size_t)k, "\r\n\r\n", 4);
			size_t head = end ? (size_t)(end + 4 - buf) : (size_t)k;
			write_all(cfd, buf, head);
			sent += head;
			for (size_t i = head; i < (size_t)k && i - head < 2 * TRICKLE_MAX_S; i++) {
				if (write_all(cfd, buf + i, 1) < 0)
					break;
				sent++;
				usleep(500000);
			}
			break;
		}
		first = 0;
		if (mode == 'x' && sent <= FLIP_AT && sent + (size_t)k > FLIP_AT)
			buf[FLIP_AT - sent] ^= 0x5a;
		size_t cut = mode == 'c' ? CUT_AT : mode == 'r' ? SHORT_CUT_AT : 0;
		if (cut && sent + (size_t)k > cut) {
			write_all(cfd, buf, cut - sent);
			sent = cut;
			break;
		}
		if (write_all(cfd, buf, (size_t)k) < 0)
			break;
		sent += (size_t)k;
	}
	close(ufd);
	log_sent(logpath, conn, sent);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: faultproxy PORTFILE UPSTREAM_PORT PLAN LOG\n");
		return 2;
	}
	int upstream = atoi(argv[2]);
	const char *plan = argv[3];
	signal(SIGCHLD, SIG_IGN);   /* no zombies */
	signal(SIGPIPE, SIG_IGN);
	alarm(120);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 64) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) < 0) {
		perror("faultproxy");
		return 1;
	}
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
	FILE *pf = fopen(tmp, "w");
	if (!pf || fprintf(pf, "%d\n", ntohs(a.sin_port)) < 0 || fclose(pf) != 0 || rename(tmp, argv[1]) < 0) {
		perror(argv[1]);
		return 1;
	}
	own_port = ntohs(a.sin_port);
	size_t plen = strlen(plan);
	int repeat = plen >= 2 && plan[plen - 1] == '+';
	if (repeat)
		plen--;
	for (int conn = 0; conn < 2000; conn++) {
		int cfd = accept(lfd, NULL, NULL);
		if (cfd < 0) {
			if (errno == EINTR)
				continue;
			perror("accept");
			return 1;
		}
		char mode = (size_t)conn < plen ? plan[conn] : repeat ? plan[plen - 1] : 'o';
		pid_t pid = fork();
		if (pid == 0) {
			close(lfd);
			handle(cfd, upstream, mode, conn, argv[4]);
			shutdown(cfd, SHUT_RDWR);
			close(cfd);
			_exit(0);
		}
		close(cfd);
	}
	return 0;
}
