/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * plot_crowded DIR: writes DIR/crowded.json and DIR/crowded.svg for a made-up run that no
 * small real run reaches: 40 marks within a second (more than the label rows hold), a long
 * scenario name, a sessions curve that ends after its last sample, and a latency tail a
 * thousand times its median. check_meshsim_plot.py checks the picture as it checks meshsim's.
 */
#include "meshsim_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NMARKS 40
#define NLAT 1000

int main(int argc, char **argv)
{
	static struct meshsim_mark marks[NMARKS];
	static double lat[NLAT];
	static struct meshsim_point curve[40], steps[6];
	static char *none[1];
	struct meshsim_result r;
	char path[4096];
	if (argc != 2) {
		fprintf(stderr, "usage: plot_crowded DIR\n");
		return 2;
	}
	memset(&r, 0, sizeof r);
	r.version = "test";
	r.scenario = "a scenario whose name is far too long for any title of a chart eight "
	             "hundred and sixty pixels wide, so it must be cut";
	r.n = 4;
	r.seed = 18446744073709551615ULL;
	r.converged = true;
	r.convergence_ms = 100;
	r.sessions_full = 12;
	for (int i = 0; i < 40; i++)
		curve[i] = (struct meshsim_point){ 50.0 * i, i < 2 ? 0 : i < 20 ? 12 : 8 };
	r.curve = curve;
	r.ncurve = 40;
	/* the last change, back to full mesh, comes after the last sample */
	steps[0] = (struct meshsim_point){ 0, 0 };
	steps[1] = (struct meshsim_point){ 100, 12 };
	steps[2] = (struct meshsim_point){ 990, 8 };
	steps[3] = (struct meshsim_point){ 1985, 10 };
	steps[4] = (struct meshsim_point){ 2031, 12 };
	r.steps = steps;
	r.nsteps = 5;
	for (int i = 0; i < NMARKS; i++) {
		marks[i].ms = 1000 + 25.0 * i;
		snprintf(marks[i].what, sizeof marks[i].what, i % 2 ? "restart node%d" : "kill node%d",
		         i / 2);
	}
	marks[NMARKS - 1].ms = 2400;              /* the last event of the run */
	snprintf(marks[NMARKS - 1].what, sizeof marks[NMARKS - 1].what, "heal");
	r.marks = marks;
	r.nmarks = NMARKS;
	r.has_messages = true;
	for (int i = 0; i < NLAT; i++)
		lat[i] = i < 990 ? 1.0 + i / 1000.0 : 1000.0 + i;   /* sorted */
	r.latencies_ms = lat;
	r.nlat = NLAT;
	r.lat_p50 = meshsim_report_percentile(lat, NLAT, 50);
	r.lat_p95 = meshsim_report_percentile(lat, NLAT, 95);
	r.lat_p99 = meshsim_report_percentile(lat, NLAT, 99);
	r.lat_max = lat[NLAT - 1];
	r.lat_mean = 11;
	r.detect_ms = r.reconverge_ms = r.ready_ms = r.cpu_converge_s = -1;
	r.rss_full_mean = r.rss_full_max = r.rss_settle_ms = -1;
	r.duration_ms = 2500;
	r.violations = none;
	r.ok = true;
	snprintf(path, sizeof path, "%s/crowded.json", argv[1]);
	if (meshsim_report_json(path, &r) != 0) {
		perror(path);
		return 1;
	}
	snprintf(path, sizeof path, "%s/crowded.svg", argv[1]);
	if (meshsim_report_svg(path, &r) != 0) {
		perror(path);
		return 1;
	}
	return 0;
}
