/* srv_msg: the moshi-server ASR protocol's messages on the wire (MessagePack maps, one per
 * binary WebSocket message). Decoding of client messages and encoding of server messages,
 * with msgpack-c. Pure functions: no I/O, no globals (this is the fuzz target's surface). */
#ifndef SRV_MSG_H
#define SRV_MSG_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    SRV_IN_AUDIO = 1,    /* pcm[n] (owned by the message) */
    SRV_IN_MARKER = 2,   /* id */
    SRV_IN_OGG_OPUS = 3, /* data[n_data] (owned by the message) */
    SRV_IN_INIT = 4,     /* reset the stream, answer Ready again */
} srv_in_type;

typedef struct {
    srv_in_type type;
    float *pcm;
    size_t n;
    int64_t id;
    uint8_t *data;
    size_t n_data;
} srv_in_msg;

/* Decodes one client message. Returns 0 and fills *out (free with srv_in_msg_clear), or -1
 * with a short reason in err. max_samples bounds the pcm/data length accepted. */
int srv_msg_decode(const uint8_t *buf, size_t len, size_t max_samples, srv_in_msg *out, char *err,
                   size_t errlen);
void srv_in_msg_clear(srv_in_msg *m);

/* An encoded server message, laid out for lws_write: `pre` spare bytes precede data. */
typedef struct srv_out_msg {
    struct srv_out_msg *next;
    size_t len;
    int is_close; /* not a message: close the socket with close_code after what precedes */
    int close_code;
    unsigned char *data; /* points pre bytes into the allocation */
} srv_out_msg;

srv_out_msg *srv_msg_ready(size_t pre);
srv_out_msg *srv_msg_error(size_t pre, const char *message);
srv_out_msg *srv_msg_word(size_t pre, const char *text, double start_time);
srv_out_msg *srv_msg_end_word(size_t pre, double stop_time);
srv_out_msg *srv_msg_marker(size_t pre, int64_t id);
srv_out_msg *srv_msg_step(size_t pre, uint64_t step_idx, const float *prs, int n_prs,
                          uint64_t buffered_pcm);
srv_out_msg *srv_msg_close(int code);
void srv_out_msg_free(srv_out_msg *m);

#endif
