/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_create: meshnode_create() says why it failed by code, so that a program chooses its
 * exit status without reading the message (the meshnode program exits 3 for MESH_EKEYFILE).
 * It opens no socket. Cases: a fresh identity (created, and meshnode_identity_created() says
 * so, with the path, only that first time); a missing, and a world-readable, mesh
 * key file; an identity file that is a directory; bad timers, a bad name and a rekey interval
 * below the least; and meshnode_new() failing the same way, with the same message.
 */
#include "meshnode.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/test_create.XXXXXX";

static void path(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* *created (if not NULL): meshnode_identity_created() of the node made */
static enum mesh_err create_ex(const struct meshnode_config *cfg, bool *created, char *err,
                               size_t errcap)
{
	struct meshnode *n = (struct meshnode *)1;
	enum mesh_err rc = meshnode_create(cfg, &n, err, errcap);
	CHECK((rc == MESH_OK) == (n != NULL));
	if (rc != MESH_OK)
		CHECK(err[0] != '\0');
	if (n && created) {
		*created = meshnode_identity_created(n);
		CHECK(cfg->identity_path && strcmp(meshnode_identity_path(n), cfg->identity_path) == 0);
	}
	meshnode_destroy(&n);
	return rc;
}

static enum mesh_err create(const struct meshnode_config *cfg, char *err, size_t errcap)
{
	return create_ex(cfg, NULL, err, errcap);
}

int main(void)
{
	char id[512], key[512], loose[512], err[512];
	struct meshnode_config cfg;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	path(id, sizeof id, "identity");
	path(key, sizeof key, "missing.key");
	path(loose, sizeof loose, "loose.key");

	meshnode_config_init(&cfg);
	cfg.identity_path = id;
	bool created = false;
	CHECK(create_ex(&cfg, &created, err, sizeof err) == MESH_OK && created);
	CHECK(create_ex(&cfg, &created, err, sizeof err) == MESH_OK && !created);   /* loaded */

	cfg.mesh_key_path = key;                                    /* no such file */
	CHECK(create(&cfg, err, sizeof err) == MESH_EKEYFILE);
	CHECK(strncmp(err, "mesh key", 8) == 0);

	FILE *f = fopen(loose, "w");                                /* anyone may read it */
	CHECK(f != NULL);
	if (f) {
		for (int i = 0; i < 64; i++)
			fputc('a', f);
		fputc('\n', f);
		fclose(f);
	}
	chmod(loose, 0644);
	cfg.mesh_key_path = loose;
	CHECK(create(&cfg, err, sizeof err) == MESH_EKEYFILE);
	cfg.mesh_key_path = NULL;

	char sub[512];
	path(sub, sizeof sub, "sub");
	CHECK(mkdir(sub, 0700) == 0);
	cfg.identity_path = sub;                                    /* a directory */
	CHECK(create(&cfg, err, sizeof err) == MESH_EKEYFILE);
	CHECK(strncmp(err, "identity", 8) == 0);
	cfg.identity_path = id;

	cfg.heartbeat_ms = 5000;                                    /* not < evasive (3000) */
	CHECK(create(&cfg, err, sizeof err) == MESH_EINVAL);
	cfg.heartbeat_ms = 0;
	cfg.name = "tab\there";
	CHECK(create(&cfg, err, sizeof err) == MESH_EINVAL);
	cfg.name = NULL;
	/* rekey_ms: 0 is the default, below MESHNODE_REKEY_MIN_MS is refused */
	cfg.rekey_ms = MESHNODE_REKEY_MIN_MS - 1;
	CHECK(create(&cfg, err, sizeof err) == MESH_EINVAL && strstr(err, "rekey_ms") != NULL);
	cfg.rekey_ms = MESHNODE_REKEY_MIN_MS;
	CHECK(create(&cfg, err, sizeof err) == MESH_OK);
	cfg.rekey_ms = 0;

	/* misuse is MESH_EINVAL, never a crash, and a path too long is refused, never cut short
	 * (a cut path names another file) */
	struct meshnode *none = NULL;
	CHECK(meshnode_create(NULL, &none, err, sizeof err) == MESH_EINVAL && none == NULL);
	CHECK(meshnode_create(&cfg, NULL, err, sizeof err) == MESH_EINVAL);
	static char longpath[5000];
	memset(longpath, 'a', sizeof longpath - 1);
	longpath[0] = '/';
	cfg.identity_path = longpath;
	CHECK(create(&cfg, err, sizeof err) == MESH_EINVAL);
	cfg.identity_path = id;

	/* meshnode_new: the same failure, the same words, no node */
	char err2[512];
	cfg.mesh_key_path = key;
	CHECK(create(&cfg, err, sizeof err) == MESH_EKEYFILE);
	CHECK(meshnode_new(&cfg, err2, sizeof err2) == NULL && strcmp(err, err2) == 0);
	CHECK(strcmp(meshnode_strerror(MESH_EKEYFILE), "key file refused") == 0);

	unlink(id);
	unlink(loose);
	rmdir(sub);
	rmdir(dir);
	return testlib_done("test_create");
}
