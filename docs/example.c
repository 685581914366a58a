/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * example.c: embedding a meshnode in your own program.
 *
 * Joins one group and prints every event it hears, using the node's pollable file descriptor
 * inside an ordinary poll() loop, as a program with its own event loop would.
 *
 *     example IFACE GROUP [COUNT]
 *
 * It stops after COUNT shouts (default: never). It is also valid C++: tests/install builds it
 * both ways against an installed copy of the library. Run it inside a network namespace on a
 * machine whose real network must not be used: unshare --net sh -c 'ip link set lo up; ...'
 *
 *     cc example.c $(pkg-config --cflags --libs meshnode) -o example
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <meshnode/meshnode.h>

/* Payloads and names come from the network: never send their raw bytes to a terminal. */
static void print_safe(const void *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;
	for (size_t i = 0; i < len; i++)
		if (p[i] >= 0x20 && p[i] < 0x7f)
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
}

int main(int argc, char **argv)
{
	char err[512];
	struct meshnode_config cfg;
	if (argc < 3) {
		fprintf(stderr, "usage: %s IFACE GROUP [COUNT]\n", argv[0]);
		return 2;
	}
	long want = argc > 3 ? strtol(argv[3], NULL, 10) : -1;

	meshnode_config_init(&cfg);
	cfg.name = "example";
	cfg.iface = argv[1];
	cfg.identity_path = getenv("EXAMPLE_IDENTITY");   /* NULL: the default location */
	struct meshnode *node = meshnode_new(&cfg, err, sizeof err);
	if (!node) {
		fprintf(stderr, "example: %s\n", err);
		return 1;
	}
	if (meshnode_start(node, err, sizeof err) != MESH_OK ||
	    meshnode_join(node, argv[2]) != MESH_OK) {
		fprintf(stderr, "example: cannot start: %s\n", err);
		meshnode_destroy(&node);
		return 1;
	}
	printf("example %s listening, in group %s\n", meshnode_id_hex(node), argv[2]);
	fflush(stdout);

	struct pollfd pfd;
	pfd.fd = meshnode_event_fd(node);
	pfd.events = POLLIN;
	long shouts = 0;
	while (want < 0 || shouts < want) {
		if (poll(&pfd, 1, -1) < 0)
			break;
		struct meshnode_event *ev;
		while ((ev = meshnode_next_event(node, 0))) {
			switch (ev->type) {
			case MESHNODE_EV_SHOUT:
				printf("shout ");
				print_safe(ev->group, strlen(ev->group));
				putchar(' ');
				print_safe(ev->name, strlen(ev->name));
				printf(": ");
				print_safe(ev->data, ev->len);
				putchar('\n');
				shouts++;
				break;
			case MESHNODE_EV_WHISPER:
				printf("whisper ");
				print_safe(ev->name, strlen(ev->name));
				printf(": ");
				print_safe(ev->data, ev->len);
				putchar('\n');
				break;
			default:
				printf("%s ", meshnode_event_name(ev->type));
				print_safe(ev->name, strlen(ev->name));
				if (ev->group[0]) {
					putchar(' ');
					print_safe(ev->group, strlen(ev->group));
				}
				putchar('\n');
				break;
			}
			meshnode_event_destroy(&ev);
		}
		fflush(stdout);
	}
	meshnode_destroy(&node);   /* says BYE to every peer */
	return 0;
}
