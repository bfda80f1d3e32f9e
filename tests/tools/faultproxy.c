/* faultproxy.c - a test-only HTTP proxy on 127.0.0.1 that misbehaves on
 * purpose, for bonsai-fetch's download tests (tests/fetch-http.t).
 *
 *   faultproxy PORTFILE UPSTREAM_PORT PLAN LOG
 *
 * Listens on a free loopback port (written to PORTFILE), forwards each
 * request to 127.0.0.1:UPSTREAM_PORT, and treats connection number i
 * according to PLAN[i] (after the plan: 'o'):
 *   o  pass through          4  answer 429 (Retry-After: 0)
 *   c  cut the connection after 60000 bytes of the response
 *   5  answer 500            x  flip a byte 50000 bytes into the response
 * Each connection is logged to LOG as
 * "i mode request-line | range | accept-encoding | auth" (- when absent).
 * Bounded: exits after 2000 connections or 120 s. */
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
		if (strncasecmp(p, "Connection:", 11) != 0) {
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
	for (;;) {
		ssize_t k = read(ufd, buf, sizeof buf);
		if (k <= 0)
			break;
		if (mode == 'x' && sent <= FLIP_AT && sent + (size_t)k > FLIP_AT)
			buf[FLIP_AT - sent] ^= 0x5a;
		if (mode == 'c' && sent + (size_t)k > CUT_AT) {
			write_all(cfd, buf, CUT_AT - sent);
			break;
		}
		if (write_all(cfd, buf, (size_t)k) < 0)
			break;
		sent += (size_t)k;
	}
	close(ufd);
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
	size_t plen = strlen(plan);
	for (int conn = 0; conn < 2000; conn++) {
		int cfd = accept(lfd, NULL, NULL);
		if (cfd < 0) {
			if (errno == EINTR)
				continue;
			perror("accept");
			return 1;
		}
		char mode = (size_t)conn < plen ? plan[conn] : 'o';
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
