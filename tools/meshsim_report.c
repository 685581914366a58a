/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * meshsim_report: the summary table, the JSON report and the SVG picture of one run (see
 * meshsim_report.h). The SVG is written by hand: two charts with axes, ticks and labels that any
 * browser shows, with no script, font or stylesheet from elsewhere.
 */
#include "meshsim_report.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

double meshsim_report_percentile(const double *sorted, size_t n, double p)
{
	size_t rank;
	if (n == 0)
		return 0;
	/* nearest rank: the smallest value with at least p% of the values at or below it */
	rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

const char *meshsim_report_kind_name(int kind)
{
	static const char *names[MESHSIM_KINDS] = { "none", "cut", "kill", "stop", "partition",
	                                                    "flap", "readdr", "conn-flood", "beacon-flood",
	                                                    "hello-flood", "partial-hold", "garbage",
	                                                    "mitm" };
	return kind >= 0 && kind < MESHSIM_KINDS ? names[kind] : "?";
}

/* ---------- table ---------- */

static void row(FILE *f, const char *label, const char *fmt, ...)
{
	va_list ap;
	fprintf(f, "  %-20s ", label);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

static void account_row(FILE *f, const char *name, const struct meshsim_account_row *a)
{
	fprintf(f, "    %-12s %7ld %7ld %9ld %6ld %8ld %6ld %6ld %10ld %5ld %5ld\n", name,
	        a->messages, a->pairs, a->delivered, a->maybe, a->reported, a->gone, a->lost,
	        a->unanswered, a->bad, a->duplicates);
}

/* Per fault kind and in total: every accepted message, per recipient (meshsim_check.h). */
static void account_table(FILE *f, const struct meshsim_account *a)
{
	if (a->faults[MESHSIM_KIND_CUT] || a->faults[MESHSIM_KIND_STOP] ||
	    a->faults[MESHSIM_KIND_PARTITION] || a->faults[MESHSIM_KIND_FLAP] ||
	    a->faults[MESHSIM_KIND_READDR])
		row(f, "faults", "%ld cuts (%ld found no connection), %ld kills, %ld stops (%ld ended "
		    "in SIGKILL), %ld partitions, %ld flaps, %ld readdrs",
		    a->faults[MESHSIM_KIND_CUT], a->cuts_missed, a->faults[MESHSIM_KIND_KILL],
		    a->faults[MESHSIM_KIND_STOP], a->stop_kills, a->faults[MESHSIM_KIND_PARTITION],
		    a->faults[MESHSIM_KIND_FLAP], a->faults[MESHSIM_KIND_READDR]);
	row(f, "account", "every accepted message, per recipient (%s); by the fault in effect "
	    "when sent", a->receipts ? "nodes with --receipts" : "nodes WITHOUT receipts");
	fprintf(f, "    %-12s %7s %7s %9s %6s %8s %6s %6s %10s %5s %5s\n", "fault", "sent",
	        "pairs", "delivered", "maybe", "reported", "gone", "LOST", "unanswered", "bad",
	        "dup");
	for (int k = 0; k < MESHSIM_KINDS; k++)
		if (a->kind[k].messages)
			account_row(f, meshsim_report_kind_name(k), &a->kind[k]);
	account_row(f, "total", &a->total);
	row(f, "", "maybe: delivered and reported maybe_delivered; gone: with its SIGKILLed "
	    "sender; LOST: silently");
	if (a->refused || a->order_violations || a->late_answers)
		row(f, "", "%ld refused by their sender, %ld out of order, %ld answers during "
		    "teardown (not counted)", a->refused, a->order_violations, a->late_answers);
}

/* attack: one block per attack (docs/meshsim.md, "Attack") */
static void attack_table(FILE *f, const struct meshsim_result *r)
{
	row(f, "attack", "victim %s (open-file limit %ld); a fresh node must link with it "
	    "within %.0f ms", r->attack_victim, r->attack_victim_nofile, r->attack_link_bound_ms);
	fprintf(f, "    %-12s %5s %11s %17s %15s %8s %8s %5s %5s %s\n", "attack", "secs",
	        "fds", "RSS KiB", "CPU % mean/max", "link ms", "whisper", "exits", "LOST",
	        "victim");
	for (size_t i = 0; i < r->nattacks; i++) {
		const struct meshsim_attack_row *a = &r->attacks[i];
		char fds[32], rss[40], cpu[32], link[16], wh[16];
		snprintf(fds, sizeof fds, "%ld->%ld", a->base_fds, a->peak_fds);
		snprintf(rss, sizeof rss, "%ld->%ld", a->base_rss_kb, a->peak_rss_kb);
		snprintf(cpu, sizeof cpu, "%.0f/%.0f", a->cpu_mean_pct, a->cpu_peak_pct);
		if (a->link_ms >= 0)
			snprintf(link, sizeof link, "%.0f", a->link_ms);
		else
			snprintf(link, sizeof link, "NEVER");
		if (a->whisper_ms >= 0)
			snprintf(wh, sizeof wh, "%.0f ms", a->whisper_ms);
		else
			snprintf(wh, sizeof wh, "NO");
		fprintf(f, "    %-12s %5.1f %11s %17s %15s %8s %8s %5ld %5ld %s\n", a->name, a->secs,
		        fds, rss, cpu, link, wh, a->exits, a->account.lost,
		        a->victim_alive ? "alive" : "DIED");
		fprintf(f, "      %s%s\n", a->breach ? "BREACH: " : a->attacker_ok ? "" :
		        "ATTACKER FAILED: ", a->what);
		if (a->exits)
			fprintf(f, "      exits between linked nodes meanwhile, e.g. %s\n", a->exit_example);
	}
	row(f, "", "fds, RSS: before -> peak; link: the fresh node's start to linked both ways; "
	    "whisper: linked to the victim printing it");
}

void meshsim_report_table(FILE *f, const struct meshsim_result *r)
{
	char net[160];
	if (r->hosts > 0) {
		int w = r->subnets ? snprintf(net, sizeof net, "%d hosts in %d routed subnets (fixed "
		                              "peers: %s%s)", r->hosts, r->subnets, r->fixed_peers,
		                              r->bridge ? "; host 0 bridges subnets 0 and 1" : "") :
		                     snprintf(net, sizeof net, "%d hosts on a bridge", r->hosts);
		if (w > 0 && (size_t)w < sizeof net && (r->loss_pct > 0 || r->delay_ms || r->jitter_ms))
			snprintf(net + w, sizeof net - (size_t)w, " (loss %.1f%%, delay %u ms, jitter %u ms)",
			         r->loss_pct, r->delay_ms, r->jitter_ms);
	} else if (r->sim) {
		snprintf(net, sizeof net, "a simulated LAN in virtual time (latency %u ms, jitter %u "
		         "ms, beacon loss %.0f%%)", r->delay_ms, r->jitter_ms, r->loss_pct);
	} else {
		snprintf(net, sizeof net, "loopback in a private namespace");
	}
	fprintf(f, "meshsim %s summary\n", r->version);
	row(f, "scenario", "%s", r->scenario);
	row(f, "nodes", "%d (%s), %s", r->n,
	    r->sim ? "engines in one process" : r->inproc ? "in-process" : "processes", net);
	row(f, "seed", "%llu (multicast port %u)", (unsigned long long)r->seed, r->mcast_port);
	row(f, "timers", "beacon %u ms, heartbeat %u ms, evasive %u ms, expired %u ms, rekey %u ms",
	    r->beacon_ms, r->heartbeat_ms, r->evasive_ms, r->expired_ms, r->rekey_ms);
	if (r->converged)
		row(f, "convergence", "%.1f ms to full mesh (%ld sessions)", r->convergence_ms,
		    r->sessions_full);
	else
		row(f, "convergence", "NOT reached within %.1f s", r->deadline_s);
	if (r->ready_ms >= 0)
		row(f, "nodes ready", "all by %.1f ms", r->ready_ms);
	if (r->cpu_converge_s >= 0 && r->convergence_ms > 0)
		row(f, "CPU to full mesh", "%.2f s, all nodes%s (%.0f%% of %ld CPUs meanwhile)",
		    r->cpu_converge_s, r->inproc ? " and meshsim" : "",
		    100.0 * r->cpu_converge_s / (r->convergence_ms / 1000.0 * (double)r->online_cpus),
		    r->online_cpus);
	if (r->has_messages) {
		row(f, "messages", "%ld sent (%zu bytes each, %.1f/s)", r->messages, r->size, r->rate);
		row(f, "deliveries", "%ld/%ld expected (%ld delivered in total)", r->deliveries,
		    r->deliveries_expected, r->deliveries_total);
		row(f, "losses", "%ld", r->losses);
		row(f, "duplicates", "%ld", r->duplicates);
		row(f, "order violations", "%ld", r->order_violations);
		if (r->misdeliveries)
			row(f, "misdeliveries", "%ld", r->misdeliveries);
		if (r->dropped_events)
			row(f, "dropped events", "%ld", r->dropped_events);
		if (r->nlat)
			row(f, "latency", "p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms",
			    r->lat_p50, r->lat_p95, r->lat_p99, r->lat_max);
		else
			row(f, "latency", "-");
		row(f, "throughput", "%.1f deliveries/s", r->throughput_per_s);
	}
	if (r->nnodes) {
		const char *how = r->usage_shared ? " (process total / n)" : "";
		row(f, "CPU per node", "mean %.2f s, max %.2f s%s", r->cpu_mean, r->cpu_max, how);
		row(f, "peak RSS per node", "mean %.0f KiB, max %.0f KiB%s", r->rss_mean, r->rss_max,
		    how);
		if (r->rss_full_mean >= 0)
			row(f, "RSS at full mesh", "mean %.0f KiB, max %.0f KiB%s, %.0f ms after it",
			    r->rss_full_mean, r->rss_full_max, how, r->rss_settle_ms);
		else
			row(f, "RSS at full mesh", "not measured");
	}
	if (!r->inproc && !r->sim)
		row(f, "meshsim CPU", "%.2f s", r->observer_cpu_s);
	if (r->has_churn) {
		row(f, "churn", "%d kill/restart cycles", r->kills);
		row(f, "", "exits seen %ld, re-enters seen %ld", r->exits_seen, r->reenters_seen);
		for (size_t i = 0; i < r->ncycles; i++) {
			const struct meshsim_cycle *c = &r->cycles[i];
			row(f, "", "#%zu %s: killed at %.0f ms, restarted %.0f, ready %.0f, "
			    "mesh again %.0f", i + 1, c->name, c->kill_ms, c->restart_ms, c->ready_ms,
			    c->reconverge_ms);
		}
	}
	if (r->has_account)
		account_table(f, &r->account);
	if (r->has_attack)
		attack_table(f, r);
	if (r->has_partition) {
		if (r->detect_ms >= 0)
			row(f, "partition", "split detected in %.1f ms", r->detect_ms);
		else
			row(f, "partition", "split NOT detected");
		if (r->reconverge_ms >= 0)
			row(f, "", "re-converged in %.1f ms after the heal", r->reconverge_ms);
		else
			row(f, "", "did NOT re-converge");
	}
	if (r->spurious_exits)
		row(f, "spurious exits", "%ld", r->spurious_exits);
	row(f, "duration", "%.1f s", r->duration_ms / 1000.0);
	if (r->fault)
		row(f, "injected fault", "%s (TEST ONLY: the observer faked one bad delivery)", r->fault);
	if (r->ok) {
		row(f, "result", "OK: every invariant held");
	} else {
		row(f, "result", "FAILED: %zu violated invariant(s)", r->nviolations);
		for (size_t i = 0; i < r->nviolations; i++)
			fprintf(f, "    - %s\n", r->violations[i]);
	}
}

/* ---------- JSON ---------- */

static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void jnum(FILE *f, double v)
{
	if (!isfinite(v) || v < 0)
		fputs("null", f);
	else
		fprintf(f, "%.3f", v);
}

/* A whole number (KiB, ms), or null when negative (not measured). */
static void jint(FILE *f, double v)
{
	if (!isfinite(v) || v < 0)
		fputs("null", f);
	else
		fprintf(f, "%.0f", v);
}

static void jcurve(FILE *f, const struct meshsim_point *pts, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s[%.1f,%ld]", i ? "," : "", pts[i].ms, pts[i].count);
	fputc(']', f);
}

static void account_row_json(FILE *f, const struct meshsim_account_row *a)
{
	fprintf(f, "{\"messages\":%ld,\"pairs\":%ld,\"delivered\":%ld,\"maybe\":%ld,"
	        "\"reported\":%ld,\"gone\":%ld,\"lost\":%ld,\"unanswered\":%ld,\"bad\":%ld,"
	        "\"duplicates\":%ld}", a->messages, a->pairs, a->delivered, a->maybe, a->reported,
	        a->gone, a->lost, a->unanswered, a->bad, a->duplicates);
}

static void account_json(FILE *f, const struct meshsim_account *a)
{
	fprintf(f, "{\"receipts\":%s,\"refused\":%ld,\"order_violations\":%ld,"
	        "\"late_answers\":%ld,\"faults\":{", a->receipts ? "true" : "false", a->refused,
	        a->order_violations, a->late_answers);
	for (int k = 1; k < MESHSIM_KINDS; k++)
		fprintf(f, "\"%s\":%ld,", meshsim_report_kind_name(k), a->faults[k]);
	fprintf(f, "\"stop_kills\":%ld,\"cuts_missed\":%ld},\"by_fault\":{", a->stop_kills,
	        a->cuts_missed);
	for (int k = 0; k < MESHSIM_KINDS; k++) {
		fprintf(f, "%s\"%s\":", k ? "," : "", meshsim_report_kind_name(k));
		account_row_json(f, &a->kind[k]);
	}
	fputs("},\"total\":", f);
	account_row_json(f, &a->total);
	fputc('}', f);
}

static void attack_json(FILE *f, const struct meshsim_result *r)
{
	fputs("{\"victim\":", f);
	jstr(f, r->attack_victim);
	fputs(",\"victim_nofile\":", f);
	jint(f, (double)r->attack_victim_nofile);
	fprintf(f, ",\"link_bound_ms\":%.0f,\"attacks\":[", r->attack_link_bound_ms);
	for (size_t i = 0; i < r->nattacks; i++) {
		const struct meshsim_attack_row *a = &r->attacks[i];
		fprintf(f, "%s{\"name\":", i ? "," : "");
		jstr(f, a->name);
		fputs(",\"start_ms\":", f);
		jnum(f, a->start_ms);
		fprintf(f, ",\"secs\":%.3f,\"fds_before\":%ld,\"fds_peak\":%ld,"
		        "\"rss_kb_before\":%ld,\"rss_kb_peak\":%ld,\"cpu_pct_mean\":%.1f,"
		        "\"cpu_pct_peak\":%.1f,\"samples\":%ld,\"link_ms\":", a->secs, a->base_fds,
		        a->peak_fds, a->base_rss_kb, a->peak_rss_kb, a->cpu_mean_pct, a->cpu_peak_pct,
		        a->samples);
		jnum(f, a->link_ms);
		fputs(",\"whisper_ms\":", f);
		jnum(f, a->whisper_ms);
		fprintf(f, ",\"exits\":%ld,\"victim_alive\":%s,\"attacker_ok\":%s,\"breach\":%s,"
		        "\"account\":", a->exits, a->victim_alive ? "true" : "false",
		        a->attacker_ok ? "true" : "false", a->breach ? "true" : "false");
		account_row_json(f, &a->account);
		fputs(",\"what\":", f);
		jstr(f, a->what);
		fputc('}', f);
	}
	fputs("]}", f);
}

int meshsim_report_json(const char *path, const struct meshsim_result *r)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("{\"meshsim\":", f);
	jstr(f, r->version);
	fputs(",\"scenario\":", f);
	jstr(f, r->scenario);
	fprintf(f, ",\"n\":%d,\"hosts\":%d,\"seed\":%llu,\"inproc\":%s,\"sim\":%s", r->n,
	        r->hosts, (unsigned long long)r->seed, r->inproc ? "true" : "false",
	        r->sim ? "true" : "false");
	fprintf(f, ",\"subnets\":%d,\"fixed_peers\":", r->subnets);
	if (r->fixed_peers)
		jstr(f, r->fixed_peers);
	else
		fputs("null", f);
	fprintf(f, ",\"bridge\":%s", r->bridge ? "true" : "false");
	fprintf(f, ",\"loss_pct\":%.1f,\"delay_ms\":%u,\"jitter_ms\":%u", r->loss_pct, r->delay_ms,
	        r->jitter_ms);
	fprintf(f, ",\"timers_ms\":{\"beacon\":%u,\"heartbeat\":%u,\"evasive\":%u,\"expired\":%u,"
	        "\"rekey\":%u}", r->beacon_ms, r->heartbeat_ms, r->evasive_ms, r->expired_ms,
	        r->rekey_ms);
	fprintf(f, ",\"mcast_port\":%u,\"deadline_s\":%.3f", r->mcast_port, r->deadline_s);
	fprintf(f, ",\"converged\":%s,\"convergence_ms\":", r->converged ? "true" : "false");
	jnum(f, r->converged ? r->convergence_ms : -1);
	fputs(",\"ready_ms\":", f);
	jnum(f, r->ready_ms);
	fputs(",\"cpu_to_converge_s\":", f);
	jnum(f, r->cpu_converge_s);
	fprintf(f, ",\"online_cpus\":%ld", r->online_cpus);
	fprintf(f, ",\"sessions_full\":%ld,\"sessions_curve\":", r->sessions_full);
	jcurve(f, r->curve, r->ncurve);
	fputs(",\"sessions_steps\":", f);
	jcurve(f, r->steps, r->nsteps);
	fputs(",\"marks\":[", f);
	for (size_t i = 0; i < r->nmarks; i++) {
		fprintf(f, "%s{\"ms\":%.1f,\"what\":", i ? "," : "", r->marks[i].ms);
		jstr(f, r->marks[i].what);
		fputc('}', f);
	}
	fputc(']', f);
	fprintf(f, ",\"messages\":%ld,\"send_failures\":%ld,\"size\":%zu,\"rate\":%.3f",
	        r->messages, r->send_failures, r->size, r->rate);
	fprintf(f, ",\"deliveries_expected\":%ld,\"deliveries\":%ld,\"losses\":%ld,"
	        "\"duplicates\":%ld,\"order_violations\":%ld,\"deliveries_total\":%ld,"
	        "\"misdeliveries\":%ld,\"dropped_events\":%ld,\"payload_errors\":%ld",
	        r->deliveries_expected, r->deliveries, r->losses, r->duplicates,
	        r->order_violations, r->deliveries_total, r->misdeliveries, r->dropped_events,
	        r->payload_errors);
	if (r->nlat) {
		fputs(",\"latency_ms\":{\"p50\":", f);
		jnum(f, r->lat_p50);
		fputs(",\"p95\":", f);
		jnum(f, r->lat_p95);
		fputs(",\"p99\":", f);
		jnum(f, r->lat_p99);
		fputs(",\"max\":", f);
		jnum(f, r->lat_max);
		fputs(",\"mean\":", f);
		jnum(f, r->lat_mean);
		fprintf(f, ",\"samples\":%zu}", r->nlat);
	} else {
		fputs(",\"latency_ms\":null", f);
	}
	fputs(",\"throughput_per_s\":", f);
	jnum(f, r->has_messages ? r->throughput_per_s : -1);
	fprintf(f, ",\"usage_per_node\":\"%s\"", r->usage_shared ? "process total divided by n"
	        : "measured per process (wait4 rusage)");
	fputs(",\"nodes\":[", f);
	for (size_t i = 0; i < r->nnodes; i++) {
		fprintf(f, "%s{\"name\":", i ? "," : "");
		jstr(f, r->nodes[i].name);
		fprintf(f, ",\"cpu_s\":%.3f,\"max_rss_kb\":%ld,\"restarts\":%d", r->nodes[i].cpu_s,
		        r->nodes[i].max_rss_kb, r->nodes[i].restarts);
		fputs(",\"rss_full_kb\":", f);
		jint(f, (double)r->nodes[i].full_rss_kb);
		fputs(",\"start_ms\":", f);
		jnum(f, r->nodes[i].start_ms);
		fputs(",\"ready_ms\":", f);
		jnum(f, r->nodes[i].ready_ms);
		fputs(",\"full_ms\":", f);
		jnum(f, r->nodes[i].full_ms);
		fputc('}', f);
	}
	fprintf(f, "],\"cpu_s_mean\":%.3f,\"cpu_s_max\":%.3f,\"max_rss_kb_mean\":%.0f,"
	        "\"max_rss_kb_max\":%.0f,\"meshsim_cpu_s\":%.3f", r->cpu_mean, r->cpu_max,
	        r->rss_mean, r->rss_max, r->observer_cpu_s);
	fputs(",\"rss_full_kb_mean\":", f);
	jint(f, r->rss_full_mean);
	fputs(",\"rss_full_kb_max\":", f);
	jint(f, r->rss_full_max);
	fputs(",\"rss_full_settle_ms\":", f);
	jint(f, r->rss_settle_ms);
	fputs(",\"churn\":", f);
	if (r->has_churn) {
		fprintf(f, "{\"kills\":%d,\"exits_seen\":%ld,\"reenters_seen\":%ld,\"cycles\":[",
		        r->kills, r->exits_seen, r->reenters_seen);
		for (size_t i = 0; i < r->ncycles; i++) {
			const struct meshsim_cycle *c = &r->cycles[i];
			fprintf(f, "%s{\"node\":", i ? "," : "");
			jstr(f, c->name);
			fputs(",\"kill_ms\":", f);
			jnum(f, c->kill_ms);
			fputs(",\"restart_ms\":", f);
			jnum(f, c->restart_ms);
			fputs(",\"ready_ms\":", f);
			jnum(f, c->ready_ms);
			fputs(",\"reconverge_ms\":", f);
			jnum(f, c->reconverge_ms);
			fputc('}', f);
		}
		fputs("]}", f);
	} else {
		fputs("null", f);
	}
	fputs(",\"account\":", f);
	if (r->has_account)
		account_json(f, &r->account);
	else
		fputs("null", f);
	fputs(",\"attack\":", f);
	if (r->has_attack)
		attack_json(f, r);
	else
		fputs("null", f);
	fputs(",\"partition\":", f);
	if (r->has_partition) {
		fputs("{\"detect_ms\":", f);
		jnum(f, r->detect_ms);
		fputs(",\"reconverge_ms\":", f);
		jnum(f, r->reconverge_ms);
		fputc('}', f);
	} else {
		fputs("null", f);
	}
	fprintf(f, ",\"spurious_exits\":%ld,\"evasive_events\":%ld,\"duration_ms\":%.1f",
	        r->spurious_exits, r->evasive_events, r->duration_ms);
	fputs(",\"inject_fault\":", f);
	if (r->fault)
		jstr(f, r->fault);
	else
		fputs("null", f);
	fputs(",\"violations\":[", f);
	for (size_t i = 0; i < r->nviolations; i++) {
		if (i)
			fputc(',', f);
		jstr(f, r->violations[i]);
	}
	fprintf(f, "],\"ok\":%s}\n", r->ok ? "true" : "false");
	if (ferror(f)) {
		int e = errno;
		fclose(f);
		errno = e ? e : EIO;
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}

/* ---------- SVG ---------- */

/*
 * Layout. Each chart is a panel: a title and a subtitle, a band for the labels of its marks
 * (as many rows as they need, up to MARK_ROWS), the plot area, then the x tick labels and
 * the axis label. The panels are written to memory first, since the SVG's height (in its
 * first line) depends on how many rows of labels there were.
 *
 * Text is measured without a font: CHAR_EM is a generous mean width of a sans-serif
 * character, so that an estimate errs towards more room, never towards overprinting.
 */
#define SVG_W 860
#define ML 80            /* left of the plot area: y tick labels and the y axis label */
#define MR 30
#define PLOT_H 235
#define TITLE_H 30       /* title (15 px), then SUB_H per line of subtitle (11 px) */
#define SUB_H 14
#define ROW_H 13         /* one row of mark labels (10 px) */
#define MARK_ROWS 6      /* marks closer together than this many rows fit go unlabelled */
#define MB 52            /* below the plot area: x tick labels and the x axis label */
#define FOOT_H 28
#define CHAR_EM 0.62
#define MARK_FONT 10
#define TICK_FONT 11

static double text_w(const char *s, double size)
{
	return CHAR_EM * size * (double)strlen(s);
}

/* s as XML character data. */
static void xtext(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '"')
			fputs("&quot;", f);
		else
			fputc(*s, f);
	}
}

/* s into buf, cut (with "...") to what fits into max_px at size: a title must never run off
 * the picture. */
static void fit(char *buf, size_t cap, const char *s, double size, double max_px)
{
	size_t most = (size_t)(max_px / (CHAR_EM * size));
	snprintf(buf, cap, "%s", s);
	if (strlen(buf) > most && most > 3)
		snprintf(buf + most - 3, cap - (most - 3), "...");
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about `want` ticks over range. */
static double nice_step(double range, int want)
{
	double raw, mag, norm;
	if (!(range > 0) || want < 1)
		return 1;
	raw = range / want;
	mag = pow(10, floor(log10(raw)));
	norm = raw / mag;
	if (norm < 1.5)
		return mag;
	if (norm < 3.5)
		return 2 * mag;
	if (norm < 7.5)
		return 5 * mag;
	return 10 * mag;
}

static void fmt_tick(char *buf, size_t cap, double v, double step)
{
	if (step >= 1)
		snprintf(buf, cap, "%.0f", v);
	else if (step >= 0.1)
		snprintf(buf, cap, "%.1f", v);
	else
		snprintf(buf, cap, "%.2f", v);
}

/* The step of ticks from 0 to at least max across px pixels, as many as fit with a gap
 * between their labels; *top is the last tick, the end of the axis. */
static double tick_step(double max, double px, double *top)
{
	char t[32];
	for (int want = (int)(px / 40); ; want--) {
		double step = nice_step(max, want > 1 ? want : 1);
		*top = ceil(max / step - 1e-9) * step;
		if (*top <= 0)
			*top = step;
		fmt_tick(t, sizeof t, *top, step);   /* the widest label is the last one */
		if (want <= 1 || step / *top * px >= text_w(t, TICK_FONT) + 12)
			return step;
	}
}

struct axes {
	double x0, y0, w, h;        /* plot area in SVG units, y0 is the top */
	double xmax, ymin, ymax;    /* x from 0; y from 0, or from ymin when ylog */
	bool ylog;
};

static double px(const struct axes *a, double x)
{
	double t = a->xmax > 0 ? x / a->xmax : 0;
	return a->x0 + (t < 0 ? 0 : t > 1 ? 1 : t) * a->w;
}

static double py(const struct axes *a, double y)
{
	double t;
	if (a->ylog)
		t = (log10(y > a->ymin ? y : a->ymin) - log10(a->ymin)) /
		    (log10(a->ymax) - log10(a->ymin));
	else
		t = a->ymax > 0 ? y / a->ymax : 0;
	return a->y0 + a->h - (t < 0 ? 0 : t > 1 ? 1 : t) * a->h;
}

/* A vertical dashed line at a moment, labelled in the band above the plot area. */
struct mark {
	double x;                   /* SVG units */
	char text[48];
	char title[80];             /* the full story, as a tooltip */
	const char *color;
	double lx;                  /* label: where, and which end of it that is */
	bool end_anchor;
	int row;                    /* -1: no room for the label */
};

struct marks {
	struct mark *v;
	size_t n;
	int rows;                   /* rows of labels in use */
	size_t unlabelled;
};

static void marks_add(struct marks *m, size_t cap, double x, const char *color,
                      const char *text, const char *title)
{
	if (m->n == cap)
		return;
	struct mark *k = &m->v[m->n++];
	k->x = x;
	k->color = color;
	snprintf(k->text, sizeof k->text, "%s", text);
	snprintf(k->title, sizeof k->title, "%s", title);
}

/* Rows for the labels: each goes right of its line (left of it near the right edge, so that
 * it stays inside the picture), in the first row where it clears every label already there. */
static void marks_layout(struct marks *m)
{
	double right[MARK_ROWS];
	m->rows = 0;
	m->unlabelled = 0;
	for (size_t i = 0; i < m->n; i++) {
		struct mark *k = &m->v[i];
		double w = text_w(k->text, MARK_FONT), left;
		k->end_anchor = k->x + 3 + w > SVG_W - 4;
		k->lx = k->end_anchor ? k->x - 3 : k->x + 3;
		left = k->end_anchor ? k->lx - w : k->lx;
		if (left < 4) {
			k->end_anchor = false;
			k->lx = left = 4;
		}
		k->row = -1;
		for (int r = 0; r < MARK_ROWS; r++) {
			if (r < m->rows && left <= right[r] + 6)
				continue;
			k->row = r;
			right[r] = left + w;
			if (r >= m->rows)
				m->rows = r + 1;
			break;
		}
		if (k->row < 0)
			m->unlabelled++;
	}
}

/* A subtitle is one line, or two split by '\n'. */
static double title_h(const char *sub)
{
	return TITLE_H + SUB_H * (strchr(sub, '\n') ? 2 : 1);
}

static double band_h(const struct marks *m)
{
	return m->rows ? m->rows * ROW_H + 6 : 0;
}

static void marks_draw(FILE *f, const struct marks *m, const struct axes *a)
{
	double band = a->y0 - band_h(m);
	for (size_t i = 0; i < m->n; i++) {
		const struct mark *k = &m->v[i];
		fputs("<g class=\"mark\"><title>", f);
		xtext(f, k->title);
		fprintf(f, "</title><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
		        "stroke-dasharray=\"4 3\"/>", k->x, a->y0, k->x, a->y0 + a->h, k->color);
		if (k->row >= 0) {
			fprintf(f, "<text class=\"marklabel\" x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" "
			        "fill=\"%s\"%s>", k->lx, band + (k->row + 1) * ROW_H - 2, MARK_FONT,
			        k->color, k->end_anchor ? " text-anchor=\"end\"" : "");
			xtext(f, k->text);
			fputs("</text>", f);
		}
		fputs("</g>\n", f);
	}
}

static void text_line(FILE *f, double x, double y, int size, const char *extra, const char *s,
                      double max_px)
{
	char buf[256];
	fit(buf, sizeof buf, s, size, max_px);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\"%s>", x, y, size, extra);
	xtext(f, buf);
	fputs("</text>\n", f);
}

static void draw_axes(FILE *f, const struct axes *a, const struct marks *m, const char *title,
                      const char *subtitle, const char *xlabel, const char *ylabel)
{
	double xtop, xs = tick_step(a->xmax, a->w, &xtop);
	double top = a->y0 - band_h(m) - title_h(subtitle);
	const char *nl = strchr(subtitle, '\n');
	char t[32], line[256];
	text_line(f, a->x0, top + 20, 15, " font-weight=\"bold\"", title, SVG_W - a->x0 - 8);
	snprintf(line, sizeof line, "%.*s", nl ? (int)(nl - subtitle) : (int)strlen(subtitle),
	         subtitle);
	text_line(f, a->x0, top + 22 + SUB_H, 11, " fill=\"#555\"", line, SVG_W - a->x0 - 8);
	if (nl)
		text_line(f, a->x0, top + 22 + 2 * SUB_H, 11, " fill=\"#555\"", nl + 1,
		          SVG_W - a->x0 - 8);
	fprintf(f, "<rect class=\"plot\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
	        "fill=\"#fafafa\" stroke=\"#999\"/>\n", a->x0, a->y0, a->w, a->h);
	for (int i = 0; xs > 0 && i * xs <= a->xmax * 1.0001; i++) {
		double v = i * xs, x = px(a, v);
		fmt_tick(t, sizeof t, v, xs);
		fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e2e2e2\"/>\n",
		        x, a->y0, x, a->y0 + a->h);
		fprintf(f, "<text class=\"xtick\" x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" "
		        "text-anchor=\"middle\">%s</text>\n", x, a->y0 + a->h + 16, TICK_FONT, t);
	}
	if (a->ylog) {
		/* decades: 10^k for every k in [log10(ymin), log10(ymax)] */
		for (double e = round(log10(a->ymin)); e <= round(log10(a->ymax)) + 1e-9; e++) {
			double v = pow(10, e), y = py(a, v);
			snprintf(t, sizeof t, e >= 0 ? "%.0f" : "%g", v);
			fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			        "stroke=\"#e2e2e2\"/>\n", a->x0, y, a->x0 + a->w, y);
			fprintf(f, "<text class=\"ytick\" x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" "
			        "text-anchor=\"end\">%s</text>\n", a->x0 - 6, y + 4, TICK_FONT, t);
		}
	} else {
		/* one label per 30 px at most: they are one line high, so that leaves a gap */
		double ys = nice_step(a->ymax, (int)(a->h / 30) < 5 ? (int)(a->h / 30) : 5);
		for (int i = 0; ys > 0 && i * ys <= a->ymax * 1.0001; i++) {
			double v = i * ys, y = py(a, v);
			fmt_tick(t, sizeof t, v, ys);
			fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			        "stroke=\"#e2e2e2\"/>\n", a->x0, y, a->x0 + a->w, y);
			fprintf(f, "<text class=\"ytick\" x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" "
			        "text-anchor=\"end\">%s</text>\n", a->x0 - 6, y + 4, TICK_FONT, t);
		}
	}
	fprintf(f, "<text class=\"xlabel\" x=\"%.1f\" y=\"%.1f\" font-size=\"12\" "
	        "text-anchor=\"middle\">", a->x0 + a->w / 2, a->y0 + a->h + 38);
	xtext(f, xlabel);
	fprintf(f, "</text>\n<text class=\"ylabel\" x=\"%.1f\" y=\"%.1f\" font-size=\"12\" "
	        "text-anchor=\"middle\" transform=\"rotate(-90 %.1f %.1f)\">", a->x0 - 58,
	        a->y0 + a->h / 2, a->x0 - 58, a->y0 + a->h / 2);
	xtext(f, ylabel);
	fputs("</text>\n", f);
}

/* The last moment the run has anything for: a sample, a change, a mark, convergence. */
static double last_ms(const struct meshsim_result *r)
{
	double end = r->converged ? r->convergence_ms : 0;
	if (r->ncurve && r->curve[r->ncurve - 1].ms > end)
		end = r->curve[r->ncurve - 1].ms;
	if (r->nsteps && r->steps[r->nsteps - 1].ms > end)
		end = r->steps[r->nsteps - 1].ms;
	for (size_t i = 0; i < r->nmarks; i++)
		if (r->marks[i].ms > end)
			end = r->marks[i].ms;
	return end;
}

/* Returns the panel's height. */
static double sessions_chart(FILE *f, const struct meshsim_result *r, double top)
{
	struct axes a = { ML, 0, SVG_W - ML - MR, PLOT_H, 0, 0, 0, false };
	struct marks m = { 0 };
	size_t cap = r->nmarks + 1;
	char sub[320], title[80], text[48];
	/* the changes, exact to the ms, where there are any; else the 50 ms samples */
	const struct meshsim_point *pts = r->nsteps > 1 ? r->steps : r->curve;
	size_t n = r->nsteps > 1 ? r->nsteps : r->ncurve;
	double end = last_ms(r) / 1000.0;
	(void)tick_step(end > 0 ? end : 1, a.w, &a.xmax);   /* the axis ends on a tick */
	a.ymax = r->sessions_full > 0 ? (double)r->sessions_full * 1.05 : 1;
	m.v = calloc(cap, sizeof *m.v);
	if (!m.v)
		cap = 0;
	for (size_t i = 0; i < r->nmarks; i++) {
		snprintf(title, sizeof title, "%s at %.0f ms", r->marks[i].what, r->marks[i].ms);
		marks_add(&m, cap, px(&a, r->marks[i].ms / 1000.0), "#8a4fbf", r->marks[i].what, title);
	}
	if (r->converged) {
		snprintf(text, sizeof text, "converged %.0f ms", r->convergence_ms);
		/* in time order, so that the layout meets the labels from left to right */
		size_t at = 0;
		while (at < m.n && r->marks[at].ms < r->convergence_ms)
			at++;
		if (m.n < cap) {
			memmove(&m.v[at + 1], &m.v[at], (m.n - at) * sizeof *m.v);
			m.n++;
			m.v[at] = (struct mark){ .x = px(&a, r->convergence_ms / 1000.0), .color = "#c33" };
			snprintf(m.v[at].text, sizeof m.v[at].text, "%s", text);
			snprintf(m.v[at].title, sizeof m.v[at].title, "full mesh at %.0f ms",
			         r->convergence_ms);
		}
	}
	marks_layout(&m);
	/* the second line only when there are marks: its own, so that a long scenario name
	 * cannot push it out of the picture */
	int w = snprintf(sub, sizeof sub, "%.120s, n=%d, seed %llu", r->scenario, r->n,
	                 (unsigned long long)r->seed);
	if (w > 0 && (size_t)w < sizeof sub && r->nmarks)
		w += snprintf(sub + w, sizeof sub - (size_t)w, "\ndashed: %zu events (faults, "
		              "restarts, attacks)", r->nmarks);
	if (w > 0 && (size_t)w < sizeof sub && m.unlabelled)
		snprintf(sub + w, sizeof sub - (size_t)w, ", %zu too close to label (hover for "
		         "them)", m.unlabelled);
	a.y0 = top + title_h(sub) + band_h(&m);
	draw_axes(f, &a, &m, "Sessions over time", sub, "time since the first node started (s)",
	          "live sessions (node, peer)");
	fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2a7\" "
	        "stroke-dasharray=\"6 4\"/>\n", a.x0, py(&a, (double)r->sessions_full),
	        a.x0 + a.w, py(&a, (double)r->sessions_full));
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#2a7\" text-anchor=\"end\">"
	        "full mesh: %ld</text>\n", a.x0 + a.w - 4, py(&a, (double)r->sessions_full) - 3,
	        r->sessions_full);
	marks_draw(f, &m, &a);
	if (n > 0) {
		/* a step line: a count holds until the next change, and the last one until the last
		 * moment the run watched (a sample, or a change after the last sample) */
		double last = 0;
		if (r->ncurve)
			last = r->curve[r->ncurve - 1].ms;
		if (r->nsteps && r->steps[r->nsteps - 1].ms > last)
			last = r->steps[r->nsteps - 1].ms;
		fprintf(f, "<polyline class=\"sessions\" fill=\"none\" stroke=\"#1f5fbf\" "
		        "stroke-width=\"1.6\" points=\"");
		for (size_t i = 0; i < n; i++) {
			double x = px(&a, pts[i].ms / 1000.0), y = py(&a, (double)pts[i].count);
			if (i > 0)
				fprintf(f, "%.1f,%.1f ", x, py(&a, (double)pts[i - 1].count));
			fprintf(f, "%.1f,%.1f ", x, y);
		}
		fprintf(f, "%.1f,%.1f\"/>\n", px(&a, last / 1000.0), py(&a, (double)pts[n - 1].count));
	}
	free(m.v);
	return title_h(sub) + band_h(&m) + PLOT_H + MB;
}

/* A tail this long would squash the body of the curve into its bottom pixels. */
static bool long_tail(const struct meshsim_result *r)
{
	if (!(r->lat_p50 > 0))
		return r->lat_max > 0;
	return r->lat_max / r->lat_p50 > 20 || r->lat_p99 / r->lat_p50 > 10;
}

/* The latency of every delivery by rank (a quantile plot: the x of p99 is 99), latency up. */
static double latency_chart(FILE *f, const struct meshsim_result *r, double top)
{
	struct axes a = { ML, 0, SVG_W - ML - MR, PLOT_H, 100, 0, 1, false };
	struct mark v[3];
	struct marks m = { v, 0, 0, 0 };
	size_t n = r->nlat;
	char sub[200], text[48], title[80];
	const double at[3] = { 50, 95, 99 }, val[3] = { r->lat_p50, r->lat_p95, r->lat_p99 };
	const char *names[3] = { "p50", "p95", "p99" };
	double lo = 0;
	for (size_t i = 0; i < n && !(lo > 0); i++)
		lo = r->latencies_ms[i];          /* sorted: the first positive is the least */
	a.ylog = long_tail(r) && lo > 0;
	if (a.ylog) {
		a.ymin = pow(10, floor(log10(lo)));
		a.ymax = pow(10, ceil(log10(r->lat_max)));
		if (a.ymax <= a.ymin)
			a.ymax = a.ymin * 10;
	} else {
		double ys = nice_step(r->lat_max > 0 ? r->lat_max : 1, 5);
		a.ymax = ceil((r->lat_max > 0 ? r->lat_max : 1) / ys - 1e-9) * ys;
	}
	for (int i = 0; i < 3; i++) {
		snprintf(text, sizeof text, "%s %.2f ms", names[i], val[i]);
		snprintf(title, sizeof title, "%s of %zu deliveries: %.3f ms", names[i], n, val[i]);
		marks_add(&m, 3, px(&a, at[i]), "#777", text, title);
	}
	marks_layout(&m);
	snprintf(sub, sizeof sub, "%zu deliveries: p50 %.2f, p95 %.2f, p99 %.2f, max %.2f ms", n,
	         r->lat_p50, r->lat_p95, r->lat_p99, r->lat_max);
	a.y0 = top + title_h(sub) + band_h(&m);
	draw_axes(f, &a, &m, "Delivery latency by rank", sub,
	          "deliveries at or below the latency (%)", a.ylog ?
	          "latency, send to receipt (ms, log scale)" : "latency, send to receipt (ms)");
	marks_draw(f, &m, &a);
	/* at most ~2000 points, sampled evenly by rank */
	size_t stride = n > 2000 ? n / 2000 : 1;
	fprintf(f, "<polyline class=\"latency\" fill=\"none\" stroke=\"#b5531c\" "
	        "stroke-width=\"1.6\" points=\"%.1f,%.1f ", px(&a, 0), py(&a, r->latencies_ms[0]));
	for (size_t i = 0; i < n; i += stride)
		fprintf(f, "%.1f,%.1f ", px(&a, 100.0 * (double)(i + 1) / (double)n),
		        py(&a, r->latencies_ms[i]));
	fprintf(f, "%.1f,%.1f\"/>\n", px(&a, 100), py(&a, r->latencies_ms[n - 1]));
	return title_h(sub) + band_h(&m) + PLOT_H + MB;
}

int meshsim_report_svg(const char *path, const struct meshsim_result *r)
{
	char *body = NULL, foot[240];
	size_t len = 0;
	FILE *mem = open_memstream(&body, &len);
	if (!mem)
		return -1;
	double h = sessions_chart(mem, r, 0);
	if (r->nlat > 0)
		h += latency_chart(mem, r, h);
	if (fclose(mem) != 0) {
		free(body);
		errno = ENOMEM;
		return -1;
	}
	h += FOOT_H;
	FILE *f = fopen(path, "w");
	if (!f) {
		free(body);
		return -1;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" "
	        "viewBox=\"0 0 %d %.0f\" font-family=\"sans-serif\">\n", SVG_W, h, SVG_W, h);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
	fwrite(body, 1, len, f);
	free(body);
	snprintf(foot, sizeof foot, "meshsim %s: %s, %d nodes%s, %s", r->version, r->scenario,
	         r->n, r->inproc ? " in-process" : "", r->ok ? "every invariant held" :
	         "INVARIANTS VIOLATED (see the report)");
	text_line(f, ML, h - 12, 11, " fill=\"#555\"", foot, SVG_W - ML - 8);
	fputs("</svg>\n", f);
	if (ferror(f)) {
		fclose(f);
		errno = EIO;
		return -1;
	}
	return fclose(f) == 0 ? 0 : -1;
}
