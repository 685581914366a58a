/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/* outmsg: the reference-counted outgoing message, one allocation with its payload; the
 * plaintext (and a shout's encoded copy) is wiped when the last reference goes. */
#include "outmsg.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct outmsg *outmsg_new(enum outmsg_kind kind, uint64_t msg_id, const char *group,
                          const void *data, size_t len)
{
	/* one allocation: the payload follows the header */
	if (len > SIZE_MAX - sizeof(struct outmsg))
		return NULL;
	size_t glen = group ? strlen(group) : 0;
	if (glen > WIRE_MAX_GROUP)
		return NULL;
	struct outmsg *m = malloc(sizeof *m + len);
	if (!m)
		return NULL;
	memset(m, 0, sizeof *m);
	m->data = (uint8_t *)(m + 1);
	if (len)
		memcpy(m->data, data, len);
	m->len = len;
	m->refs = 1;
	m->kind = kind;
	m->msg_id = msg_id;
	if (group) {
		m->glen = glen;
		memcpy(m->group, group, glen + 1);
	}
	return m;
}

struct outmsg *outmsg_ref(struct outmsg *m)
{
	m->refs++;
	return m;
}

void outmsg_unref(struct outmsg **mp)
{
	struct outmsg *m = mp ? *mp : NULL;
	if (!m)
		return;
	*mp = NULL;
	if (--m->refs > 0)
		return;
	sodium_memzero(m->data, m->len);   /* application plaintext */
	if (m->enc) {
		sodium_memzero(m->enc, m->enc_len);
		free(m->enc);
	}
	free(m);
}
