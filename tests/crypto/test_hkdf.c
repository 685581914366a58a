/* Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE) */
/*
 * test_hkdf: HMAC-BLAKE2b and the Noise HKDF against answers computed independently with
 * Python's hmac module (RFC 2104, BLAKE2b-512, 128-byte block) and the spec 4.3 definition.
 * Key lengths cover empty, shorter than, exactly and longer than a block, where RFC 2104 first
 * hashes the key. Only counts and failing check locations are printed.
 */
#include "hkdf.h"
#include "testlib.h"

#include <sodium.h>
#include <string.h>

enum msg_kind { MSG_SHORT, MSG_LONG, MSG_EMPTY };

struct hmac_case {
	size_t keylen;
	enum msg_kind msg;
	const char *hex;
};

struct hkdf_case {
	size_t ikmlen;
	const char *out1, *out2, *out3;
};

#define KEYED_BLAKE2B \
	"c11b2a73d7465ce0294d33d9b30b8d74e209a566963bcb9722978e4699b2532c" \
	"5b8ffcb78871e9f1232d69feda0ead48a6b8d81d6422f3deddfac8eb75e714e7"

static const struct hmac_case hmac_cases[] = {
	{ 0, MSG_SHORT,
	  "136f95d2eeae4fe08eccd925a57c3609705fe786f96c2c2051ffd859f05aef64"
	  "150e767a4e1a21acb8f446ce4311add6abadcf233e62fa049d39b32a3fc024de" },
	{ 0, MSG_LONG,
	  "4c177cd35e564d0286e04997d2c85cd68499fe1d49a3fb34b5caaa53994dbb89"
	  "0a1bf3a33d9e65da2783111e8ee8aa6ba19216503fc09e658cbc6e6975912740" },
	{ 0, MSG_EMPTY,
	  "198cd2006f66ff83fbbd913f78aca2251caf4f19fe9475aade8cf2091b99a684"
	  "66775177424f58286886cbae8229644cec747237d4b721735485e17372fdf59c" },
	{ 1, MSG_SHORT,
	  "fc56296451b9384fbbc4413b8f766038e28585364fdd91689c9d8e1cf1c22fc8"
	  "a681ae96b7fe200a937bc1a855ed728bd611575401ecef6cd8b02ad017d8c020" },
	{ 1, MSG_LONG,
	  "7d3b146086440b568154ca58b1bf772570a69fa1ca7c102f94566f75a85f896d"
	  "3c1b0c0a57221eef949ef920fb962720e1c28688ddb12a8d0342d13c7963be5e" },
	{ 1, MSG_EMPTY,
	  "c907c743360b537b058a2118dc4e5a578acfe3698956ce6cdc85be6f29e41b2a"
	  "4613d3d2661fc3f29a8a3f60a85f3fb94338463c30beca0321cb2b2ae965720e" },
	{ 32, MSG_SHORT,
	  "87930d482ab02d9620787a46d2f74e57c7b10ea4b2fa4afb75bdee10f1877452"
	  "0f2d8b0d2dc347e77bd9ad076b619cf258a04c08fafcf65e3d01d1b7b413b082" },
	{ 32, MSG_LONG,
	  "ba78e6f8ad8e0ab6959095d05c3cb2173478a53931b36ef09a56abf85a22f1ec"
	  "d8d661ab5d61ca1ce0fcb7830460c103d284bbd3555b7b82aac7940efbbeb4c5" },
	{ 32, MSG_EMPTY,
	  "5962fbf298c73ccfc2380128a771eda3ceb993985e1617b61f8062bd0655f7a0"
	  "66318b0339cd56f32b2367b0d3c90e018d74c7fa8aad590df9bfa793bc8477ad" },
	{ 64, MSG_SHORT,
	  "0504bda1f6eed035d8a7915528df82db8037e0f0c57ef0da42a3b6283d70160c"
	  "e99475b5d5550070b8e2c3c09ecfe014a0186541e21df0627990e5a3689628ed" },
	{ 64, MSG_LONG,
	  "ea5bfe04041e626eebb00c42c78c2dc312f5af995134cdbea13e9203b91f8b04"
	  "6bd7bd75d26d201e2f54c3e651ce846d0405d615150720d62e677df9f05d9a0a" },
	{ 64, MSG_EMPTY,
	  "684a4d81b523e8546c8d8f5ce39b02abec625b83066a7bbb3ce3651cd556f996"
	  "8207a82afc1c6cd7e03696262d97bbc06660619e3b22f6055695e690be2333b6" },
	{ 127, MSG_SHORT,
	  "0f785a3767d6278e44754b00a6beecb8ce4ae3d0c28f998565646d0af3e7f7ae"
	  "7880078062dc0232735faa350e587b5174fb146e691877a67c212dd671ca5986" },
	{ 127, MSG_LONG,
	  "74e98e66d1cec7824295a29fa64ac4fced095771a7758f1225c4a14d61310703"
	  "a5f0a45dbbbd940c2b1f76f52bea48c9e689d2eacc74fe2870e877b97edff055" },
	{ 127, MSG_EMPTY,
	  "707452d5215f7edf6cafb2fd4e039d09814e4c5805b8700684d419f4a321f621"
	  "dec7d7329fbfc38b2075ad1dd1feae6ace7dedb43a4c60290acc8f86e3bda072" },
	{ 128, MSG_SHORT,
	  "dc61f5a9f437d4b5459dad91f0792e804376e5c6e54320c43152fa245396969a"
	  "746097971e5e5c9146ad6476567a4bcb5588f71e3942d20f56c75032e01bb658" },
	{ 128, MSG_LONG,
	  "1d12743c12cc746328f6652a8a97bca78e9323fe91f2d8663573ef60c37d4ad2"
	  "8069cba2f5efd72ba4408f073b158b84c4f1b35da3aadef2db58efc7287479bb" },
	{ 128, MSG_EMPTY,
	  "32cac16841ed409510208f9d93ba6b90f98f127d67d85782c3d3de1cc5f358b7"
	  "c5bacc4f6a3c771d2259b86bdc158e00f17e1eb7541653cfa16d46679afce952" },
	{ 129, MSG_SHORT,
	  "ddab0e25c37d73e558d37c3332d01173038a1f7f5320905af7cdb4b676581e78"
	  "e572fc362803ce9aa3552be574c7df10ca5832cadce3336cd870d3756c6f6e75" },
	{ 129, MSG_LONG,
	  "23603475a8599c13084506d33171f64f5f6335be5bb334bb19eab8a33ed44677"
	  "e2fd17109d2ebbd658cd49dfc4886d40036719a41f363ab0eda58b482e419562" },
	{ 129, MSG_EMPTY,
	  "7ca145aee532a2baa5c2d95a529f840cd423cdd2e9a8c83e8d46c5fecc3daa6c"
	  "44cff0c0cb59ec16996df92c1853e551308d33994729aa6eacbfa2967e344fa8" },
	{ 200, MSG_SHORT,
	  "a795edfb73868976d543cbc0aeb702806402c37339321cf29d62cea63e502ec3"
	  "a4ab9735cb3d1a29fd6062cd40c9735d74e10ce2278677136f4bbad62f36eba1" },
	{ 200, MSG_LONG,
	  "a8ba3eb08db708272f303efdfa1211df8e82819af9b727a8696e137f397362a5"
	  "f5bcbe09dda74c7372bd19d16bb1105cc41a3759ab80fb295f2979605827004c" },
	{ 200, MSG_EMPTY,
	  "04f998748ef9d5aeb5fbf17102bffbce5e25e835e666615b7a6dd4495f33ba7b"
	  "67af3e761c162cec41076f68d4fa373b63d62225b0b1e73d46a3b25f48a653bb" },
};
static const struct hkdf_case hkdf_cases[] = {
	{ 0,
	  "212d9533de3f74ec2f55fcf635f2552bf17b28adc79f776a4e2f7ca0a4ed9f3a"
	  "0e6e67d5129efbecbf302479476840cb3b73008e709393f8199df9154e78c324",
	  "45d67d59d46cecb7a3612ddc71a2a8724bdf8b97a051e289a5a746218d093efd"
	  "602148909cd9b0688d43bce6d61afdafb10c3ce22ffa7ea57ec4f3b82bcac1c3",
	  "8fdc8caa0a230fb92d65f115b780054393cea2a8ace9e5e252c3aa78e0b035fc"
	  "39b7b71cc084263bcdb1880c95d27a5cbf9185dc361143e657f93391b59a744f",
	},
	{ 32,
	  "febc548bc474bc7c0c0b91788e2201c20f71982391c494482a91507c8df026f4"
	  "06b770b587ad2a608311f28cb980fc17af1716e9a869f93902a54c68f3fc0131",
	  "268e80c3719a8d4c380d7f7d5cc8c8cc7e06a671c7075faaa5494372d7343249"
	  "5a181496345de86a77a9e59845f74f27f85c3409b138d2ca9f208281cd36ca86",
	  "13426dae88827915a342b64c43241316e9258a05fc2e8cf31a854f99d1fced86"
	  "78a3f60edf13d0b90e946a3026aeef60a2ad3379a0a8e5049a8948de4d6d353d",
	},
	{ 64,
	  "4cd182afa011d5f9468879fe0cda3299d436dd4424a027be03d7c7385bdd9faf"
	  "f82a6f6c9ec1f057247cd2917d882f2c6f52b757a63da4374cbb36c638a82265",
	  "b5c9efc2fa0c9b72917538e8befedaef173b72382fc830658800b82a425658ac"
	  "75c4c759024a855c34c7289b8d81e524f2cf90049643904960910c133e73d411",
	  "da983a781c7425c0b71b272acb702de47a23e83a63ff3d07cac69b13ecf09e97"
	  "14feef1b3480ebb83ebf8c97f0b218d9c5c2db5d9beb825ed836e176cd09a0d9",
	},
};

/* The same deterministic bytes as the Python script: byte i = i * seed + 7. */
static void pattern_bytes(uint8_t *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * seed + 7);
}

static size_t make_msg(enum msg_kind kind, uint8_t *buf, size_t cap)
{
	static const char shortmsg[] = "what do ya want for nothing?";

	switch (kind) {
	case MSG_SHORT:
		memcpy(buf, shortmsg, sizeof shortmsg - 1);
		return sizeof shortmsg - 1;
	case MSG_LONG:
		for (size_t i = 0; i < 300 && i < cap; i++)
			buf[i] = (uint8_t)(i * 13 + 1);
		return 300;
	case MSG_EMPTY:
	default:
		return 0;
	}
}

static int expect_hex(const uint8_t got[HKDF_HASHLEN], const char *hex)
{
	uint8_t want[HKDF_HASHLEN];

	if (testlib_unhex(hex, want, sizeof want) != HKDF_HASHLEN)
		return 0;
	return memcmp(got, want, HKDF_HASHLEN) == 0;
}

static void test_hmac(void)
{
	uint8_t key[256], msg[300], out[HKDF_HASHLEN];

	for (size_t i = 0; i < sizeof hmac_cases / sizeof hmac_cases[0]; i++) {
		const struct hmac_case *c = &hmac_cases[i];
		size_t mlen = make_msg(c->msg, msg, sizeof msg);

		pattern_bytes(key, c->keylen, 3);
		hkdf_hmac(c->keylen ? key : NULL, c->keylen, mlen ? msg : NULL, mlen, out);
		CHECK(expect_hex(out, c->hex));
	}
}

/* Keys past one block are hashed first, so a key and its BLAKE2b-512 digest MAC alike. */
static void test_long_key_is_hashed(void)
{
	uint8_t key[200], digest[HKDF_HASHLEN], a[HKDF_HASHLEN], b[HKDF_HASHLEN];
	static const uint8_t msg[] = "abc";

	pattern_bytes(key, sizeof key, 3);
	crypto_generichash(digest, sizeof digest, key, sizeof key, NULL, 0);
	hkdf_hmac(key, sizeof key, msg, 3, a);
	hkdf_hmac(digest, sizeof digest, msg, 3, b);
	CHECK(memcmp(a, b, sizeof a) == 0);
	/* exactly one block is used as is */
	hkdf_hmac(key, 128, msg, 3, a);
	crypto_generichash(digest, sizeof digest, key, 128, NULL, 0);
	hkdf_hmac(digest, sizeof digest, msg, 3, b);
	CHECK(memcmp(a, b, sizeof a) != 0);
}

/* The common mistake: keyed BLAKE2b is a different function from HMAC-BLAKE2b. */
static void test_keyed_blake2b_differs(void)
{
	static const char msg[] = "what do ya want for nothing?";
	uint8_t key[32], keyed[HKDF_HASHLEN], mac[HKDF_HASHLEN];

	pattern_bytes(key, sizeof key, 3);
	crypto_generichash(keyed, sizeof keyed, (const uint8_t *)msg, sizeof msg - 1, key,
	                   sizeof key);
	hkdf_hmac(key, sizeof key, (const uint8_t *)msg, sizeof msg - 1, mac);
	CHECK(memcmp(keyed, mac, sizeof mac) != 0);
	/* and the Python reference agrees on which is which */
	CHECK(expect_hex(keyed, KEYED_BLAKE2B));
	CHECK(!expect_hex(mac, KEYED_BLAKE2B));
}

static void test_hkdf(void)
{
	uint8_t ck[HKDF_HASHLEN], ikm[64], o1[HKDF_HASHLEN], o2[HKDF_HASHLEN], o3[HKDF_HASHLEN];
	uint8_t t1[HKDF_HASHLEN], t2[HKDF_HASHLEN], aliased[HKDF_HASHLEN];

	pattern_bytes(ck, sizeof ck, 5);
	for (size_t i = 0; i < sizeof hkdf_cases / sizeof hkdf_cases[0]; i++) {
		const struct hkdf_case *c = &hkdf_cases[i];
		const uint8_t *in = c->ikmlen ? ikm : NULL;

		pattern_bytes(ikm, c->ikmlen, 11);
		CHECK(hkdf_noise(ck, in, c->ikmlen, o1, o2, o3) == 0);
		CHECK(expect_hex(o1, c->out1));
		CHECK(expect_hex(o2, c->out2));
		CHECK(expect_hex(o3, c->out3));

		/* two outputs are the first two of three */
		CHECK(hkdf_noise(ck, in, c->ikmlen, t1, t2, NULL) == 0);
		CHECK(memcmp(t1, o1, sizeof t1) == 0 && memcmp(t2, o2, sizeof t2) == 0);

		/* MixKey writes the new chaining key over the old one */
		memcpy(aliased, ck, sizeof aliased);
		CHECK(hkdf_noise(aliased, in, c->ikmlen, aliased, t2, NULL) == 0);
		CHECK(memcmp(aliased, o1, sizeof aliased) == 0 && memcmp(t2, o2, sizeof t2) == 0);
	}
	CHECK(hkdf_noise(NULL, ikm, 1, o1, o2, NULL) == -1);
	CHECK(hkdf_noise(ck, NULL, 1, o1, o2, NULL) == -1);
	CHECK(hkdf_noise(ck, ikm, 1, NULL, o2, NULL) == -1);
	CHECK(hkdf_noise(ck, ikm, 1, o1, NULL, NULL) == -1);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	test_hmac();
	test_long_key_is_hashed();
	test_keyed_blake2b_differs();
	test_hkdf();
	return testlib_done("test_hkdf");
}
