/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * floormesh.c: a measurement, not part of the product or of the tests (docs/performance.md,
 * "The raw ZeroMQ mesh of 128 processes lost frames"). Runs meshbench's raw ZeroMQ mesh
 * (floor_mesh, tools/meshbench_floor.c) alone, RUNS times in a row with N processes, and
 * prints each run's time to full mesh and CPU per pair, or its failure. The processes are this
 * program again (--zmq-mesh-child), so SELF must be the absolute path it was built to. It
 * opens sockets, so it refuses to run outside netns-run's namespace. Built from the
 * repository's root:
 *
 *   gcc -O2 -Itools -Inode -Itests docs/experiments/floormesh.c tools/meshbench_floor.c \
 *       node/monoclock.c tests/testlib.c -lzmq -o /tmp/floormesh
 *   tests/integration/netns-run /tmp/floormesh /tmp/floormesh 128 6
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshbench_floor.h"
#include "testlib.h"

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--zmq-mesh-child") == 0)
		return floor_mesh_child(argc - 1, argv + 1);
	if (argc != 4) {
		fprintf(stderr, "usage: floormesh SELF N RUNS\n");
		return 2;
	}
	testlib_require_netns("floormesh");
	int n = atoi(argv[2]), runs = atoi(argv[3]), failed = 0;
	for (int r = 0; r < runs; r++) {
		double wall = 0, per_pair = 0;
		int rc = floor_mesh(argv[1], n, &wall, &per_pair);
		failed += rc != 0;
		if (rc == 0)
			printf("run %d: full mesh of %d in %.0f ms, CPU per pair %.3f ms\n", r, n, wall,
			       per_pair);
		else
			printf("run %d: failed after %.0f ms\n", r, wall);
		fflush(stdout);
	}
	printf("%d of %d runs failed\n", failed, runs);
	return failed != 0;
}
