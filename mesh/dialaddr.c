/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * dialaddr: initiated handshakes in progress per destination address (dialaddr.h). The rows
 * in use are kept together at the front: a freed row takes the last one's place.
 */
#include <assert.h>
#include <string.h>

#include "dialaddr.h"

static size_t find(const struct dialaddr *d, const struct ipaddr *ip)
{
	for (size_t i = 0; i < d->used; i++)
		if (ipaddr_eq(&d->addr[i], ip))
			return i;
	return DIALADDR_MAX;
}

uint32_t dialaddr_count(const struct dialaddr *d, const struct ipaddr *ip)
{
	size_t i = find(d, ip);
	return i < DIALADDR_MAX ? d->n[i] : 0;
}

bool dialaddr_add(struct dialaddr *d, const struct ipaddr *ip)
{
	size_t i = find(d, ip);
	if (i == DIALADDR_MAX) {
		if (d->used == DIALADDR_MAX)
			return false;
		i = d->used++;
		d->addr[i] = *ip;
		d->n[i] = 0;
	}
	d->n[i]++;
	return true;
}

void dialaddr_remove(struct dialaddr *d, const struct ipaddr *ip)
{
	size_t i = find(d, ip);
	assert(i < DIALADDR_MAX && d->n[i] > 0);   /* only what dialaddr_add counted */
	if (i == DIALADDR_MAX)
		return;
	if (--d->n[i] > 0)
		return;
	d->used--;
	if (i != d->used) {
		d->addr[i] = d->addr[d->used];
		d->n[i] = d->n[d->used];
	}
}

size_t dialaddr_total(const struct dialaddr *d)
{
	size_t total = 0;
	for (size_t i = 0; i < d->used; i++)
		total += d->n[i];
	return total;
}
