/* chan.c - framed, buffered, non-blocking channel; see chan.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "chan.h"
#include "log.h"
#include "proto.h"

#define READ_CHUNK (64u << 10)

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void chan_init(struct chan *c, int in_fd, int out_fd)
{
	memset(c, 0, sizeof(*c));
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	c->last_io = now_ms();
	/* Never NULL: readers form `in.data + in_off` before the first byte arrives. */
	buf_grow(&c->in, READ_CHUNK);
	set_nonblock(in_fd);
	if (out_fd != in_fd)
		set_nonblock(out_fd);
}

void chan_release(struct chan *c)
{
	buf_release(&c->in);
	buf_release(&c->out);
}

void chan_send(struct chan *c, uint8_t type, const void *payload, size_t len)
{
	unsigned char h[FRAME_HEADER];

	if (len > MAX_FRAME)
		bug("frame of %zu bytes queued", len);
	/* Reclaim written bytes before growing the queue. */
	if (c->out_off && c->out_off == c->out.len) {
		c->out.len = 0;
		c->out_off = 0;
	} else if (c->out_off > (1u << 20)) {
		buf_consume(&c->out, c->out_off);
		c->out_off = 0;
	}
	h[0] = type;
	h[1] = (unsigned char)(len >> 24);
	h[2] = (unsigned char)(len >> 16);
	h[3] = (unsigned char)(len >> 8);
	h[4] = (unsigned char)len;
	buf_put(&c->out, h, sizeof(h));
	buf_put(&c->out, payload, len);
}

size_t chan_pending(const struct chan *c)
{
	return c->out.len - c->out_off;
}

/* Write what the socket takes now. 0 = progress or nothing to do, -1 = gone. */
static int write_some(struct chan *c)
{
	while (chan_pending(c)) {
		ssize_t n = write(c->out_fd, c->out.data + c->out_off, chan_pending(c));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			c->eof = 1;
			return error("connection to the other side lost: write: %s",
				     strerror(errno));
		}
		c->out_off += (size_t)n;
		c->sent += (uint64_t)n;
		c->last_io = now_ms();
	}
	c->out.len = 0;
	c->out_off = 0;
	return 0;
}

/* Read what is available now. 1 = got bytes, 0 = nothing now, -1 = EOF/error. */
static int read_some(struct chan *c)
{
	ssize_t n;

	/*
	 * Compact only when the free space runs short, never once per frame
	 * (that memmove would cost O(n^2)), and before growing, so the buffer
	 * stays near one frame plus one read instead of growing with the stream.
	 */
	if (c->in_off && (c->in_off == c->in.len || c->in.cap - c->in.len < READ_CHUNK)) {
		buf_consume(&c->in, c->in_off);
		c->in_off = 0;
	}
	buf_grow(&c->in, READ_CHUNK);
	do
		n = read(c->in_fd, c->in.data + c->in.len, c->in.cap - c->in.len);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		c->eof = 1;
		/* A reset is the peer going away: reported like EOF, by chan_recv. */
		if (errno == ECONNRESET)
			return -1;
		return error("connection to the other side lost: read: %s", strerror(errno));
	}
	if (n == 0) {
		c->eof = 1;
		return -1;
	}
	c->in.len += (size_t)n;
	c->received += (uint64_t)n;
	c->last_io = now_ms();
	return 1;
}

void chan_set_timeout(struct chan *c, unsigned seconds)
{
	c->idle_ms = (int)(seconds > MAX_TIMEOUT ? MAX_TIMEOUT : seconds) * 1000;
	c->last_io = now_ms();
}

/*
 * poll() that honours the idle limit when TIMEOUT_MS < 0 (wait "forever").
 * Returns poll's result; 0 with c->timed_out set when the limit passed.
 */
static int idle_poll(struct chan *c, struct pollfd *p, int n, int timeout_ms)
{
	int r, ms;

	for (;;) {
		ms = timeout_ms;
		if (ms < 0 && c->idle_ms) {
			int64_t left = c->last_io + c->idle_ms - now_ms();

			if (left <= 0) {
				c->timed_out = 1;
				c->eof = 1;
				error("no data to or from the other side for %d second%s; giving up "
				      "(--timeout)", c->idle_ms / 1000, c->idle_ms == 1000 ? "" : "s");
				return 0;
			}
			ms = (int)left;
		}
		r = poll(p, (nfds_t)n, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0 && timeout_ms < 0)
			continue;	/* the idle check above decides */
		return r;
	}
}

int chan_flush(struct chan *c, int block)
{
	while (chan_pending(c)) {
		struct pollfd p = { .fd = c->out_fd, .events = POLLOUT };

		if (write_some(c))
			return -1;
		if (!block || !chan_pending(c))
			break;
		if (idle_poll(c, &p, 1, -1) < 0)
			return error("poll: %s", strerror(errno));
		if (c->timed_out)
			return -1;
	}
	return 0;
}

static struct chan *tick_chan;

void chan_keepalive(struct chan *c)
{
	tick_chan = c;
}

void chan_tick(void)
{
	struct chan *c = tick_chan;
	int64_t now;

	if (!c || !c->idle_ms || c->eof)
		return;
	now = now_ms();
	if (now - c->last_io < c->idle_ms / 4)
		return;
	if (!chan_pending(c))
		chan_send(c, F_NOOP, NULL, 0);
	while (chan_pending(c)) {
		ssize_t n = write(c->out_fd, c->out.data + c->out_off, chan_pending(c));

		if (n <= 0)
			break;	/* full, or gone: the next real wait tells */
		c->out_off += (size_t)n;
		c->sent += (uint64_t)n;
		c->last_io = now;
	}
}

static uint32_t frame_len(const unsigned char *h)
{
	return (uint32_t)h[1] << 24 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 8 | h[4];
}

int chan_has_frame(const struct chan *c)
{
	const unsigned char *p = c->in.data + c->in_off + c->in_used;
	size_t avail = c->in.len - c->in_off - c->in_used;

	return avail >= FRAME_HEADER && frame_len(p) <= MAX_FRAME &&
	       avail >= FRAME_HEADER + frame_len(p);
}

int chan_wait(struct chan *c, int timeout_ms)
{
	struct pollfd p[2];
	int n = 0, r;

	p[n++] = (struct pollfd){ .fd = c->in_fd, .events = POLLIN };
	if (chan_pending(c)) {
		if (c->out_fd == c->in_fd)
			p[0].events |= POLLOUT;
		else
			p[n++] = (struct pollfd){ .fd = c->out_fd, .events = POLLOUT };
	}
	r = idle_poll(c, p, n, timeout_ms);
	if (r < 0)
		return error("poll: %s", strerror(errno));
	if (c->timed_out)
		return -1;
	if (write_some(c))
		return -1;
	if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
		if (read_some(c) < 0 && !chan_has_frame(c))
			return -1;
	}
	return 0;
}

int chan_recv(struct chan *c, uint8_t *type, const unsigned char **payload,
	      size_t *len, int block)
{
	/* Drop the frame returned last time. */
	c->in_off += c->in_used;
	c->in_used = 0;
	for (;;) {
		const unsigned char *h = c->in.data + c->in_off;
		size_t avail = c->in.len - c->in_off;

		if (avail >= FRAME_HEADER) {
			uint32_t n = frame_len(h);

			if (n > MAX_FRAME)
				return error("protocol error: frame of type %u claims %u bytes (limit %u)",
					     h[0], n, MAX_FRAME);
			if (avail >= FRAME_HEADER + n) {
				*type = h[0];
				*payload = h + FRAME_HEADER;
				*len = n;
				c->in_used = FRAME_HEADER + n;
				return 1;
			}
		}
		if (c->eof && c->timed_out)
			return -1;	/* said already */
		if (c->eof)
			return avail ? error("connection to the other side lost in the middle of a frame")
					 : error("connection to the other side lost");
		if (!block) {
			int r = read_some(c);

			if (r == 0)
				return 0;
			if (r < 0 && !c->eof)
				return -1;
			continue;
		}
		if (chan_wait(c, -1) < 0 && !c->eof)
			return -1;
	}
}
