-- Copyright (c) 2026 The meshnode authors. SPDX-License-Identifier: MIT (see LICENSE)
--
-- meshnode.lua: a Wireshark dissector for meshnode protocol version 2 (docs/protocol.md), for
-- looking inside captures of one's own nodes. Load it with
--
--     tshark -X lua_script:meshnode.lua -r capture.pcap -V
--
-- or copy it to Wireshark's personal Lua plugin folder (Help > About > Folders). It shows:
--   * UDP beacons (section 2), open and sealed, on the beacon port (preference udp_port) and,
--     by their first bytes, on any UDP port (a heuristic);
--   * the TCP links (section 3): ZeroMQ ZMTP 3.0/3.1 (greeting, NULL-mechanism commands, frames
--     with 1- and 8-byte sizes, reassembled across TCP segments), on the ports of preference
--     tcp_ports and, by the ZMTP signature at the start of a connection, on any port (nodes
--     listen on ephemeral ports); inside each ZMTP message, the meshnode frame: HELLO, REPLY,
--     FINISH and DATA;
--   * with a key log (preference keylog: the file `meshnode --keylog FILE` writes,
--     docs/usage.md "Key log"), the plaintext of DATA frames (ACCEPT, SHOUT, WHISPER, ...,
--     payload text included) and of sealed beacons.
--
-- Lua in Wireshark has no cryptography, so ChaCha20, HChaCha20 and Poly1305 are written out
-- below in pure Lua 5.2 (bit32). They exist to read one's own captures and are not part of the
-- product, which uses libsodium; they are neither constant-time nor fast. Each DATA frame's
-- Poly1305 tag is checked before its plaintext is shown: that is how the dissector picks, among
-- the keys a session had over its rekeys, the one a frame was sealed with, and it means a frame
-- shown as decrypted is exactly what the sender sealed. tshark -X lua_script1:selftest runs the
-- RFC 8439 test vectors and prints the result.
--
-- A msgpack decoder (also below) shows every value it meets; a frame that does not parse is
-- marked malformed (an expert error), and bytes of a TCP stream that are not part of a ZMTP
-- greeting or frame are marked too, so that a test can tell a dissected capture from one that
-- is not.

local script_args = { ... }

local p = Proto("meshnode", "meshnode mesh protocol")

-- ---- fields --------------------------------------------------------------------------------

local F = {}
local function field(name, ctor, ...)
	F[name] = ctor("meshnode." .. name, ...)
	return F[name]
end

local frame_types = { [1] = "HELLO", [2] = "REPLY", [3] = "FINISH", [4] = "DATA" }
local msg_types = {
	[1] = "ACCEPT", [2] = "REJECT", [3] = "HEARTBEAT", [4] = "BYE", [5] = "JOIN", [6] = "LEAVE",
	[7] = "SHOUT", [8] = "WHISPER", [9] = "ACK", [10] = "RESEND", [11] = "MARK", [12] = "REKEY",
	[13] = "REKEY_REPLY", [14] = "PEERS",
}
local reject_reasons = { [1] = "duplicate session", [2] = "not a peer we link with" }

-- ZMTP
field("zmtp.length", ProtoField.uint32, "ZMTP bytes", base.DEC, nil, nil,
      "Bytes of one greeting or frame, header included")
field("zmtp.signature", ProtoField.bytes, "Signature")
field("zmtp.version", ProtoField.string, "Version")
field("zmtp.mechanism", ProtoField.string, "Mechanism")
field("zmtp.as_server", ProtoField.uint8, "As server")
field("zmtp.flags", ProtoField.uint8, "Flags", base.HEX)
field("zmtp.flags.more", ProtoField.bool, "More", 8, nil, 0x01)
field("zmtp.flags.long", ProtoField.bool, "Long size", 8, nil, 0x02)
field("zmtp.flags.command", ProtoField.bool, "Command", 8, nil, 0x04)
field("zmtp.size", ProtoField.uint64, "Size")
field("zmtp.command", ProtoField.string, "Command")
field("zmtp.property", ProtoField.string, "Property")
field("zmtp.body", ProtoField.bytes, "Body")

-- frames (section 3)
field("frame", ProtoField.uint8, "Frame type", base.DEC, frame_types)
field("initiator_sid", ProtoField.uint32, "Initiator session ID", base.HEX)
field("responder_sid", ProtoField.uint32, "Responder session ID", base.HEX)
field("receiver_sid", ProtoField.uint32, "Receiver session ID", base.HEX)
field("counter", ProtoField.uint64, "Counter (nonce)")
field("noise", ProtoField.bytes, "Noise message")
field("noise.e", ProtoField.bytes, "Ephemeral key (e)")
field("noise.s", ProtoField.bytes, "Encrypted static key (s)")
field("noise.payload", ProtoField.bytes, "Encrypted payload")
field("ciphertext", ProtoField.bytes, "Ciphertext")
field("tag", ProtoField.bytes, "Poly1305 tag")
field("decrypted", ProtoField.bool, "Decrypted")
field("key_index", ProtoField.uint32, "Key log line")

-- messages inside DATA (section 3.2)
field("msg", ProtoField.uint8, "Message type", base.DEC, msg_types)
field("msg.name", ProtoField.string, "Name")
field("msg.group", ProtoField.string, "Group")
field("msg.reason", ProtoField.uint8, "Reason", base.DEC, reject_reasons)
field("msg.msg_id", ProtoField.uint64, "Message ID")
field("msg.index", ProtoField.uint32, "Fragment index")
field("msg.count", ProtoField.uint32, "Fragment count")
field("msg.data", ProtoField.bytes, "Payload")
field("msg.text", ProtoField.string, "Payload text")
field("msg.incarnation", ProtoField.uint64, "Incarnation")
field("msg.n", ProtoField.uint64, "Rekey attempt")

-- beacons (section 2)
field("beacon.magic", ProtoField.string, "Magic")
field("beacon.version", ProtoField.uint8, "Version")
field("beacon.sealed", ProtoField.bool, "Sealed")
field("beacon.nonce", ProtoField.bytes, "Nonce")
field("beacon.node_id", ProtoField.bytes, "Node ID")
field("beacon.ipv4", ProtoField.ipv4, "Address")
field("beacon.ipv6", ProtoField.ipv6, "Address")
field("beacon.port", ProtoField.uint16, "Port")
field("beacon.counter", ProtoField.uint64, "Counter")
field("beacon.incarnation", ProtoField.uint64, "Incarnation")
field("beacon.sig", ProtoField.bytes, "Signature")
field("beacon.decrypted", ProtoField.bool, "Decrypted")

-- handshake payloads (section 3.1), when a REPLY's or FINISH's payload is shown decrypted
-- elsewhere; and the generic msgpack view
field("mp", ProtoField.string, "msgpack")

local ef_malformed = ProtoExpert.new("meshnode.malformed", "Malformed meshnode data",
                                     expert.group.MALFORMED, expert.severity.ERROR)
local ef_zmtp = ProtoExpert.new("meshnode.zmtp.bad", "Bytes that are no ZMTP greeting or frame",
                                expert.group.MALFORMED, expert.severity.ERROR)
local ef_nokey = ProtoExpert.new("meshnode.nokey", "No key in the key log opens this frame",
                                 expert.group.DECRYPTION, expert.severity.NOTE)
p.experts = { ef_malformed, ef_zmtp, ef_nokey }

local fields = {}
for _, f in pairs(F) do
	fields[#fields + 1] = f
end
p.fields = fields

-- ---- preferences ---------------------------------------------------------------------------

p.prefs.udp_port = Pref.uint("Beacon UDP port", 47474, "The nodes' --mcast-port (default 47474)")
p.prefs.tcp_ports = Pref.range("ZMTP TCP ports", "",
                               "The nodes' --port values; other ports are found by the ZMTP " ..
                               "signature at the start of each connection", 65535)
p.prefs.keylog = Pref.string("Key log file", "",
                             "A file written by meshnode --keylog: decrypts DATA frames and " ..
                             "sealed beacons")

-- ---- pure-Lua cryptography (debugging only; the product uses libsodium) ---------------------

local band, bor, bxor, lrot = bit32.band, bit32.bor, bit32.bxor, bit32.lrotate
local floor = math.floor
local M32 = 4294967296

-- bytes of a Lua string <-> little-endian 32-bit words
local function le32(s, i)
	local a, b, c, d = s:byte(i, i + 3)
	return a + b * 256 + c * 65536 + d * 16777216
end

local function word_bytes(w)
	return string.char(w % 256, floor(w / 256) % 256, floor(w / 65536) % 256,
	                   floor(w / 16777216) % 256)
end

local function chacha_core(key, n0, n1, n2, n3, hchacha)
	local s = { 0x61707865, 0x3320646e, 0x79622d32, 0x6b206574 }
	for i = 0, 7 do
		s[5 + i] = le32(key, 1 + 4 * i)
	end
	s[13], s[14], s[15], s[16] = n0, n1, n2, n3
	local x = {}
	for i = 1, 16 do
		x[i] = s[i]
	end
	local function qr(a, b, c, d)
		x[a] = (x[a] + x[b]) % M32; x[d] = lrot(bxor(x[d], x[a]), 16)
		x[c] = (x[c] + x[d]) % M32; x[b] = lrot(bxor(x[b], x[c]), 12)
		x[a] = (x[a] + x[b]) % M32; x[d] = lrot(bxor(x[d], x[a]), 8)
		x[c] = (x[c] + x[d]) % M32; x[b] = lrot(bxor(x[b], x[c]), 7)
	end
	for _ = 1, 10 do
		qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15); qr(4, 8, 12, 16)
		qr(1, 6, 11, 16); qr(2, 7, 12, 13); qr(3, 8, 9, 14); qr(4, 5, 10, 15)
	end
	if hchacha then
		-- HChaCha20: words 0..3 and 12..15, without the feed-forward
		return table.concat({ word_bytes(x[1]), word_bytes(x[2]), word_bytes(x[3]),
		                      word_bytes(x[4]), word_bytes(x[13]), word_bytes(x[14]),
		                      word_bytes(x[15]), word_bytes(x[16]) })
	end
	local out = {}
	for i = 1, 16 do
		out[i] = word_bytes((x[i] + s[i]) % M32)
	end
	return table.concat(out)
end

-- ChaCha20 (RFC 8439 section 2.4): data XOR the keystream of key, 12-byte nonce, from block
-- counter `counter`.
local function chacha20_xor(key, nonce, counter, data)
	local n1, n2, n3 = le32(nonce, 1), le32(nonce, 5), le32(nonce, 9)
	local out = {}
	local pos = 1
	while pos <= #data do
		local ks = chacha_core(key, counter, n1, n2, n3, false)
		local chunk = data:sub(pos, pos + 63)
		local o = {}
		for i = 1, #chunk do
			o[i] = string.char(bxor(chunk:byte(i), ks:byte(i)))
		end
		out[#out + 1] = table.concat(o)
		pos = pos + 64
		counter = (counter + 1) % M32
	end
	return table.concat(out)
end

-- Poly1305 (RFC 8439 section 2.5), on ten 13-bit limbs: every product and sum stays below
-- 2^53, so Lua's doubles compute it exactly.
local function limbs_of(s, i, len, hibit)
	-- the little-endian number s[i .. i+len-1] (+ 2^(8*len) when hibit) as limbs
	local b = {}
	for k = 1, len do
		b[k] = s:byte(i + k - 1)
	end
	if hibit then
		b[len + 1] = 1
	end
	local l = {}
	for k = 0, 9 do
		local bitpos = 13 * k
		local j = floor(bitpos / 8) + 1
		local v = (b[j] or 0) + (b[j + 1] or 0) * 256 + (b[j + 2] or 0) * 65536
		l[k] = floor(v / 2 ^ (bitpos % 8)) % 8192
	end
	return l
end

-- Carries the 10 limbs of 13 bits of d, `rounds` times round: what leaves the top limb is
-- worth 2^130 = 5 (mod p), so it comes back into the lowest one times 5.
local function carry(d, rounds)
	for _ = 1, rounds do
		for i = 0, 9 do
			local c = floor(d[i] / 8192)
			d[i] = d[i] - c * 8192
			if i < 9 then
				d[i + 1] = d[i + 1] + c
			else
				d[0] = d[0] + c * 5
			end
		end
	end
end

local function poly1305(key, msg)
	-- r, clamped
	local rb = { key:byte(1, 16) }
	rb[4], rb[8], rb[12], rb[16] = band(rb[4], 15), band(rb[8], 15), band(rb[12], 15),
	                              band(rb[16], 15)
	rb[5], rb[9], rb[13] = band(rb[5], 252), band(rb[9], 252), band(rb[13], 252)
	local r = limbs_of(string.char((table.unpack or unpack)(rb)), 1, 16, false)
	local h = {}
	for k = 0, 9 do
		h[k] = 0
	end
	local pos = 1
	while pos <= #msg do
		local len = math.min(16, #msg - pos + 1)
		local m = limbs_of(msg, pos, len, true)
		for k = 0, 9 do
			h[k] = h[k] + m[k]
		end
		local d = {}
		for i = 0, 9 do
			local sum = 0
			for j = 0, 9 do
				if j <= i then
					sum = sum + h[j] * r[i - j]
				else
					sum = sum + h[j] * 5 * r[i - j + 10]   -- 2^130 = 5 (mod p)
				end
			end
			d[i] = sum
		end
		carry(d, 2)
		h = d
		pos = pos + 16
	end
	-- fully reduced: carry until every limb is below 2^13, then subtract p if h >= p
	carry(h, 3)
	local g, c = {}, 5
	for i = 0, 9 do
		local v = h[i] + c
		g[i] = v % 8192
		c = floor(v / 8192)
	end
	if c > 0 then               -- h + 5 >= 2^130: h >= p
		h = g
	end
	-- tag = (h + s) mod 2^128, byte by byte
	local out, carry = {}, 0
	for k = 0, 15 do
		local bitpos = 8 * k
		local li = floor(bitpos / 13)
		local v = h[li] + (h[li + 1] or 0) * 8192
		local byte = floor(v / 2 ^ (bitpos % 13)) % 256
		local sum = byte + key:byte(17 + k) + carry
		out[k + 1] = string.char(sum % 256)
		carry = floor(sum / 256)
	end
	return table.concat(out)
end

local function pad16(n)
	return string.rep("\0", (16 - n % 16) % 16)
end

local function le64(n)
	return word_bytes(n % M32) .. word_bytes(floor(n / M32))
end

-- ChaCha20-Poly1305 IETF (RFC 8439 section 2.8) decryption: the plaintext, or nil when the tag
-- does not match.
local function aead_open(key, nonce, ad, ct_and_tag)
	if #ct_and_tag < 16 then
		return nil
	end
	local ct, tag = ct_and_tag:sub(1, -17), ct_and_tag:sub(-16)
	local otk = chacha20_xor(key, nonce, 0, string.rep("\0", 32))
	local mac = poly1305(otk, ad .. pad16(#ad) .. ct .. pad16(#ct) .. le64(#ad) .. le64(#ct))
	if mac ~= tag then
		return nil
	end
	return chacha20_xor(key, nonce, 1, ct)
end

-- XChaCha20-Poly1305 IETF (libsodium crypto_aead_xchacha20poly1305_ietf): HChaCha20 of the key
-- and the nonce's first 16 bytes, then the above with nonce 0^4 || nonce[16..23].
local function xaead_open(key, nonce24, ad, ct_and_tag)
	local sub = chacha_core(key, le32(nonce24, 1), le32(nonce24, 5), le32(nonce24, 9),
	                        le32(nonce24, 13), true)
	return aead_open(sub, "\0\0\0\0" .. nonce24:sub(17, 24), ad, ct_and_tag)
end

local function unhex(h)
	return (h:gsub("%x%x", function(x) return string.char(tonumber(x, 16)) end))
end

local function tohex(s)
	return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

-- ---- the key log ---------------------------------------------------------------------------

local keys_by_sid = {}     -- receiver sid (number) -> { {key=..., line=n}, ... }
local beacon_keys = {}     -- { {key=..., line=n}, ... }
local keylog_loaded = nil  -- the path loaded, so that a change of preference reloads

local function load_keylog()
	keys_by_sid, beacon_keys = {}, {}
	keylog_loaded = p.prefs.keylog
	if p.prefs.keylog == "" then
		return
	end
	local f = io.open(p.prefs.keylog, "r")
	if not f then
		return
	end
	local n = 0
	for line in f:lines() do
		n = n + 1
		local a, b, kl, kr = line:match("^MESHNODE_SESSION (%x+) (%x+) (%x+) (%x+)%s*$")
		if a and #a == 8 and #b == 8 and #kl == 64 and #kr == 64 then
			local sa, sb = tonumber(a, 16), tonumber(b, 16)
			keys_by_sid[sa] = keys_by_sid[sa] or {}
			table.insert(keys_by_sid[sa], { key = unhex(kl), line = n })
			keys_by_sid[sb] = keys_by_sid[sb] or {}
			table.insert(keys_by_sid[sb], { key = unhex(kr), line = n })
		else
			local bk = line:match("^MESHNODE_BEACON (%x+)%s*$")
			if bk and #bk == 64 then
				table.insert(beacon_keys, { key = unhex(bk), line = n })
			end
		end
	end
	f:close()
end

local cache = {}           -- "frame:offset" -> { pt = ..., line = n } or false

local function decrypt_data(pinfo, where, sid, counter_lo, counter_hi, ct)
	local id = pinfo.number .. ":" .. where
	if cache[id] ~= nil then
		return cache[id]
	end
	local result = false
	local cands = keys_by_sid[sid]
	if cands then
		local ad = string.char(floor(sid / 16777216) % 256, floor(sid / 65536) % 256,
		                       floor(sid / 256) % 256, sid % 256)
		-- Noise's ChaChaPoly nonce: 32 zero bits, then the counter, 64-bit little-endian
		local nonce = "\0\0\0\0" .. word_bytes(counter_lo) .. word_bytes(counter_hi)
		-- newest first: a long capture has its frames under the last keys
		for i = #cands, 1, -1 do
			local pt = aead_open(cands[i].key, nonce, ad, ct)
			if pt then
				result = { pt = pt, line = cands[i].line }
				break
			end
		end
	end
	cache[id] = result
	return result
end

local function decrypt_beacon(pinfo, where, blob)
	local id = pinfo.number .. ":b" .. where
	if cache[id] ~= nil then
		return cache[id]
	end
	local result = false
	if #blob > 24 + 16 then
		for i = #beacon_keys, 1, -1 do
			local pt = xaead_open(beacon_keys[i].key, blob:sub(1, 24), "", blob:sub(25))
			if pt then
				result = { pt = pt, line = beacon_keys[i].line }
				break
			end
		end
	end
	cache[id] = result
	return result
end

-- ---- msgpack -------------------------------------------------------------------------------
-- mp_read(tvb, off) reads one value and returns a node { t = type, off, len (whole encoding),
-- v = value, hoff/hlen: where a str/bin's bytes are, items = { ... } for arrays and maps }, or
-- nil when the bytes do not hold a complete value. Unsigned integers above 2^53 come as UInt64.

local MAX_DEPTH = 8

local function mp_read(tvb, off, depth)
	depth = depth or 0
	local total = tvb:len()
	if off >= total or depth > MAX_DEPTH then
		return nil
	end
	local b = tvb(off, 1):uint()
	local function need(n)
		return off + n <= total
	end
	local function num(n)             -- big-endian unsigned of n bytes after the type byte
		if n == 8 then
			local v = tvb(off + 1, 8):uint64()
			if v:higher() < 2097152 then
				return v:higher() * M32 + v:lower()
			end
			return v
		end
		return tvb(off + 1, n):uint()
	end
	local function sized(t, hdr, n)
		if not need(hdr + n) then
			return nil
		end
		local node = { t = t, off = off, len = hdr + n, hoff = off + hdr, hlen = n }
		if t == "str" then
			node.v = n > 0 and tvb(off + hdr, n):string(ENC_UTF_8) or ""
		end
		return node
	end
	local function container(t, hdr, count)
		local node = { t = t, off = off, items = {} }
		local pos = off + hdr
		local n = t == "map" and 2 * count or count
		if n > total then
			return nil             -- more elements than bytes: cannot be
		end
		for i = 1, n do
			local it = mp_read(tvb, pos, depth + 1)
			if not it then
				return nil
			end
			node.items[i] = it
			pos = pos + it.len
		end
		node.len = pos - off
		return node
	end
	if b <= 0x7f then
		return { t = "uint", off = off, len = 1, v = b }
	elseif b >= 0xe0 then
		return { t = "int", off = off, len = 1, v = b - 256 }
	elseif b >= 0xa0 and b <= 0xbf then
		return sized("str", 1, b - 0xa0)
	elseif b >= 0x90 and b <= 0x9f then
		return container("array", 1, b - 0x90)
	elseif b >= 0x80 and b <= 0x8f then
		return container("map", 1, b - 0x80)
	elseif b == 0xc0 then
		return { t = "nil", off = off, len = 1 }
	elseif b == 0xc2 or b == 0xc3 then
		return { t = "bool", off = off, len = 1, v = b == 0xc3 }
	elseif b >= 0xcc and b <= 0xcf then
		local n = ({ 1, 2, 4, 8 })[b - 0xcb]
		if not need(1 + n) then
			return nil
		end
		return { t = "uint", off = off, len = 1 + n, v = num(n) }
	elseif b >= 0xd0 and b <= 0xd3 then
		local n = ({ 1, 2, 4, 8 })[b - 0xcf]
		if not need(1 + n) then
			return nil
		end
		local v = n == 8 and tvb(off + 1, 8):int64() or tvb(off + 1, n):int()
		return { t = "int", off = off, len = 1 + n, v = v }
	elseif b == 0xca or b == 0xcb then
		local n = b == 0xca and 4 or 8
		if not need(1 + n) then
			return nil
		end
		return { t = "float", off = off, len = 1 + n, v = tvb(off + 1, n):float() }
	elseif b == 0xc4 or b == 0xc5 or b == 0xc6 or b == 0xd9 or b == 0xda or b == 0xdb then
		local n = ({ [0xc4] = 1, [0xc5] = 2, [0xc6] = 4, [0xd9] = 1, [0xda] = 2, [0xdb] = 4 })[b]
		if not need(1 + n) then
			return nil
		end
		return sized(b >= 0xd9 and "str" or "bin", 1 + n, tvb(off + 1, n):uint())
	elseif b == 0xdc or b == 0xdd then
		local n = b == 0xdc and 2 or 4
		if not need(1 + n) then
			return nil
		end
		return container("array", 1 + n, tvb(off + 1, n):uint())
	elseif b == 0xde or b == 0xdf then
		local n = b == 0xde and 2 or 4
		if not need(1 + n) then
			return nil
		end
		return container("map", 1 + n, tvb(off + 1, n):uint())
	elseif b >= 0xd4 and b <= 0xd8 then
		local n = ({ 1, 2, 4, 8, 16 })[b - 0xd3]
		return sized("ext", 2, n)
	elseif b >= 0xc7 and b <= 0xc9 then
		local n = ({ 1, 2, 4 })[b - 0xc6]
		if not need(1 + n) then
			return nil
		end
		return sized("ext", 2 + n, tvb(off + 1, n):uint())
	end
	return nil                          -- 0xc1: never used
end

local function mp_repr(node)
	if node.t == "uint" or node.t == "int" or node.t == "float" then
		return tostring(node.v)
	elseif node.t == "str" then
		return string.format("%q", node.v)
	elseif node.t == "bin" then
		return string.format("bin(%d)", node.hlen)
	elseif node.t == "array" then
		return string.format("array(%d)", #node.items)
	elseif node.t == "map" then
		return string.format("map(%d)", #node.items / 2)
	elseif node.t == "bool" then
		return tostring(node.v)
	elseif node.t == "ext" then
		return string.format("ext(%d)", node.hlen)
	end
	return "nil"
end

-- The generic view: every value, nested, as text items under tree.
local function mp_tree(tree, tvb, node, label)
	local it = tree:add(F.mp, tvb(node.off, node.len), mp_repr(node))
	it:set_text((label and (label .. ": ") or "") .. mp_repr(node))
	if node.items then
		for i, c in ipairs(node.items) do
			mp_tree(it, tvb, c, "[" .. (i - 1) .. "]")
		end
	end
	return it
end

local function is_uint(node)
	return node and node.t == "uint"
end

local function u32(node)
	return is_uint(node) and type(node.v) == "number" and node.v < M32
end

-- a msgpack uint (number or UInt64) as a UInt64, for uint64 fields
local function as_u64(v)
	if type(v) == "number" then
		return UInt64.new(v % M32, floor(v / M32))
	end
	return v
end

local function split_u64(v)
	if type(v) == "number" then
		return v % M32, floor(v / M32)
	end
	return v:lower(), v:higher()
end

local function bin_range(tvb, node)
	if node.hlen == 0 then
		return tvb(node.hoff, 0)
	end
	return tvb(node.hoff, node.hlen)
end

-- whether s is UTF-8 text without control characters but tab and newline
local function printable(s)
	if s:find("[%z\1-\8\11-\31\127]") then
		return false
	end
	local ok = pcall(function()
		local i = 1
		while i <= #s do
			local c = s:byte(i)
			local n = c < 0x80 and 0 or c >= 0xf0 and 3 or c >= 0xe0 and 2 or c >= 0xc2 and 1 or -1
			if n < 0 then
				error("bad")
			end
			for k = 1, n do
				local cc = s:byte(i + k)
				if not cc or cc < 0x80 or cc > 0xbf then
					error("bad")
				end
			end
			i = i + n + 1
		end
	end)
	return ok
end

-- ---- beacons (section 2) -------------------------------------------------------------------

local function add_malformed(tree, pinfo, tvb, what)
	tree:add_proto_expert_info(ef_malformed, what)
	pinfo.cols.info:append(" [malformed: " .. what .. "]")
end

-- signed = [ body:bin, sig:bin(64) ], body = msgpack of the beacon body; returns a summary
local function dissect_signed(tvb, tree, pinfo, node)
	if not (node and node.t == "array" and #node.items == 2 and node.items[1].t == "bin" and
	        node.items[2].t == "bin") then
		add_malformed(tree, pinfo, tvb, "signed beacon is not [ body, sig ]")
		return nil
	end
	local body_r = bin_range(tvb, node.items[1])
	local btvb = body_r:tvb()
	local body = mp_read(btvb, 0)
	local st = tree:add(p, body_r, "Beacon body")
	local summary
	if body and body.t == "array" and #body.items == 7 and body.items[1].t == "str" then
		local it = body.items
		st:add(F["beacon.magic"], btvb(it[1].off, it[1].len), it[1].v)
		if is_uint(it[2]) then
			st:add(F["beacon.version"], btvb(it[2].off, it[2].len), it[2].v)
		end
		if it[3].t == "bin" then
			st:add(F["beacon.node_id"], bin_range(btvb, it[3]))
		end
		if it[4].t == "bin" and it[4].hlen == 4 then
			st:add(F["beacon.ipv4"], bin_range(btvb, it[4]))
		elseif it[4].t == "bin" and it[4].hlen == 16 then
			st:add(F["beacon.ipv6"], bin_range(btvb, it[4]))
		end
		if u32(it[5]) then
			st:add(F["beacon.port"], btvb(it[5].off, it[5].len), it[5].v)
		end
		if is_uint(it[6]) then
			st:add(F["beacon.counter"], btvb(it[6].off, it[6].len), as_u64(it[6].v))
		end
		if is_uint(it[7]) then
			st:add(F["beacon.incarnation"], btvb(it[7].off, it[7].len), as_u64(it[7].v))
		end
		local ip = "?"
		if it[4].t == "bin" and it[4].hlen == 4 then
			ip = tostring(bin_range(btvb, it[4]):ipv4())
		elseif it[4].t == "bin" and it[4].hlen == 16 then
			ip = "[" .. tostring(bin_range(btvb, it[4]):ipv6()) .. "]"
		end
		summary = string.format("node %s at %s:%s", it[3].t == "bin" and it[3].hlen >= 4 and
		                        bin_range(btvb, it[3])(0, 4):bytes():tohex():lower() or "?",
		                        ip, tostring(it[5].v))
	else
		add_malformed(st, pinfo, tvb, "beacon body")
	end
	if body then
		mp_tree(st, btvb, body, "msgpack")
	end
	tree:add(F["beacon.sig"], bin_range(tvb, node.items[2]))
	return summary
end

local function dissect_beacon(tvb, pinfo, tree)
	pinfo.cols.protocol = "meshnode"
	local t = tree:add(p, tvb(), "meshnode beacon")
	local d = mp_read(tvb, 0)
	if not (d and d.t == "array" and #d.items == 4 and d.items[1].t == "str" and
	        is_uint(d.items[2]) and d.items[3].t == "bool" and d.items[4].t == "bin") then
		pinfo.cols.info = "meshnode beacon"
		add_malformed(t, pinfo, tvb, "beacon datagram")
		return tvb:len()
	end
	if d.len ~= tvb:len() then
		add_malformed(t, pinfo, tvb, "bytes after the beacon")
	end
	local it = d.items
	t:add(F["beacon.magic"], tvb(it[1].off, it[1].len), it[1].v)
	t:add(F["beacon.version"], tvb(it[2].off, it[2].len), it[2].v)
	t:add(F["beacon.sealed"], tvb(it[3].off, it[3].len), it[3].v)
	local blob = bin_range(tvb, it[4])
	if it[2].v ~= 2 then
		pinfo.cols.info = "meshnode beacon of protocol version " .. tostring(it[2].v)
		t:add(F.ciphertext, blob)
		return tvb:len()
	end
	if not it[3].v then
		local summary = dissect_signed(blob:tvb(), t, pinfo, mp_read(blob:tvb(), 0))
		pinfo.cols.info = "Beacon " .. (summary or "")
		return tvb:len()
	end
	if it[4].hlen < 24 + 16 then
		add_malformed(t, pinfo, tvb, "sealed beacon too short")
		return tvb:len()
	end
	t:add(F["beacon.nonce"], blob(0, 24))
	t:add(F.ciphertext, blob(24))
	local r = decrypt_beacon(pinfo, it[4].hoff, blob:bytes():raw())
	if r then
		local ptvb = ByteArray.new(r.pt, true):tvb("Decrypted beacon")
		t:add(F["beacon.decrypted"], blob(24), true)
		t:add(F.key_index, blob(24), r.line)
		local summary = dissect_signed(ptvb, t, pinfo, mp_read(ptvb, 0))
		pinfo.cols.info = "Sealed beacon " .. (summary or "")
	else
		pinfo.cols.info = "Sealed beacon"
	end
	return tvb:len()
end

-- ---- messages inside DATA (section 3.2) ----------------------------------------------------

local function str_field(tree, tvb, f, node)
	if node and node.t == "str" then
		tree:add(f, tvb(node.off, node.len), node.v)
		return node.v
	end
end

local function dissect_msg(tvb, pinfo, tree)
	local m = mp_read(tvb, 0)
	if not (m and m.t == "array" and #m.items >= 1 and u32(m.items[1])) then
		add_malformed(tree, pinfo, tvb, "message is no msgpack array")
		return
	end
	if m.len ~= tvb:len() then
		add_malformed(tree, pinfo, tvb, "bytes after the message")
	end
	local it = m.items
	local ty = it[1].v
	local name = msg_types[ty] or ("type " .. ty)
	local mt = tree:add(p, tvb(0, m.len), "Message: " .. name)
	mt:add(F.msg, tvb(it[1].off, it[1].len), ty)
	local info = name
	local function u64f(f, node)
		if is_uint(node) then
			mt:add(f, tvb(node.off, node.len), as_u64(node.v))
			return tostring(node.v)
		end
	end
	local function payload(node)
		if node and node.t == "bin" then
			local r = bin_range(tvb, node)
			mt:add(F["msg.data"], r)
			local s = node.hlen > 0 and r:raw() or ""
			if printable(s) then
				mt:add(F["msg.text"], r, s)
				info = info .. string.format(" %q", #s > 60 and (s:sub(1, 57) .. "...") or s)
			else
				info = info .. string.format(" (%d bytes)", node.hlen)
			end
		end
	end
	if ty == 1 then
		local n = str_field(mt, tvb, F["msg.name"], it[2])
		if it[3] and it[3].t == "array" then
			for _, g in ipairs(it[3].items) do
				str_field(mt, tvb, F["msg.group"], g)
			end
		end
		info = info .. " " .. (n or "")
	elseif ty == 2 and u32(it[2]) then
		mt:add(F["msg.reason"], tvb(it[2].off, it[2].len), it[2].v)
	elseif ty == 5 or ty == 6 then
		info = info .. " " .. (str_field(mt, tvb, F["msg.group"], it[2]) or "")
	elseif ty == 7 then
		info = info .. " #" .. (u64f(F["msg.msg_id"], it[2]) or "?")
		info = info .. " to " .. (str_field(mt, tvb, F["msg.group"], it[3]) or "?")
		if u32(it[4]) and u32(it[5]) then
			mt:add(F["msg.index"], tvb(it[4].off, it[4].len), it[4].v)
			mt:add(F["msg.count"], tvb(it[5].off, it[5].len), it[5].v)
			if it[5].v > 1 then
				info = info .. string.format(" [%d/%d]", it[4].v + 1, it[5].v)
			end
		end
		payload(it[6])
	elseif ty == 8 then
		info = info .. " #" .. (u64f(F["msg.msg_id"], it[2]) or "?")
		if u32(it[3]) and u32(it[4]) then
			mt:add(F["msg.index"], tvb(it[3].off, it[3].len), it[3].v)
			mt:add(F["msg.count"], tvb(it[4].off, it[4].len), it[4].v)
			if it[4].v > 1 then
				info = info .. string.format(" [%d/%d]", it[3].v + 1, it[4].v)
			end
		end
		payload(it[5])
	elseif ty == 9 or ty == 10 then
		u64f(F["msg.incarnation"], it[2])
		info = info .. " up to #" .. (u64f(F["msg.msg_id"], it[3]) or "?")
	elseif ty == 11 then
		info = info .. " #" .. (u64f(F["msg.msg_id"], it[2]) or "?")
	elseif ty == 12 or ty == 13 then
		info = info .. " n=" .. (u64f(F["msg.n"], it[2]) or "?")
		if it[3] and it[3].t == "bin" then
			mt:add(F.noise, bin_range(tvb, it[3]))
		end
	elseif ty == 14 and it[2] and it[2].t == "array" then
		for i, e in ipairs(it[2].items) do
			if e.t == "bin" then
				local r = bin_range(tvb, e)
				local et = mt:add(p, r, "Passed beacon " .. i)
				dissect_signed(r:tvb(), et, pinfo, mp_read(r:tvb(), 0))
			end
		end
	end
	mp_tree(mt, tvb, m, "msgpack")
	return info
end

-- ---- frames (section 3) --------------------------------------------------------------------

local function dissect_frame(tvb, pinfo, tree)
	local f = mp_read(tvb, 0)
	local ft = tree:add(p, tvb(), "meshnode frame")
	if not (f and f.t == "array" and #f.items >= 3 and u32(f.items[1])) then
		add_malformed(ft, pinfo, tvb, "frame is no msgpack array")
		return "frame?"
	end
	if f.len ~= tvb:len() then
		add_malformed(ft, pinfo, tvb, "bytes after the frame")
	end
	local it = f.items
	local ty = it[1].v
	local name = frame_types[ty] or ("frame type " .. ty)
	ft:set_text("meshnode frame: " .. name)
	ft:add(F.frame, tvb(it[1].off, it[1].len), ty)
	local function sid(fld, node)
		if u32(node) then
			ft:add(fld, tvb(node.off, node.len), node.v)
			return string.format("%08x", node.v)
		end
		add_malformed(ft, pinfo, tvb, "session ID")
		return "?"
	end
	local info = name
	if ty == 1 and #it == 3 and it[3].t == "bin" then
		info = info .. " isid=" .. sid(F.initiator_sid, it[2])
		local r = bin_range(tvb, it[3])
		local nt = ft:add(F.noise, r)
		if it[3].hlen >= 32 then
			nt:add(F["noise.e"], r(0, 32))
		end
	elseif ty == 2 and #it == 4 and it[4].t == "bin" then
		info = info .. " isid=" .. sid(F.initiator_sid, it[2]) .. " rsid=" ..
		       sid(F.responder_sid, it[3])
		local r = bin_range(tvb, it[4])
		local nt = ft:add(F.noise, r)
		if it[4].hlen >= 32 + 48 + 16 then
			nt:add(F["noise.e"], r(0, 32))
			nt:add(F["noise.s"], r(32, 48))
			nt:add(F["noise.payload"], r(80))
		end
	elseif ty == 3 and #it == 3 and it[3].t == "bin" then
		info = info .. " rsid=" .. sid(F.responder_sid, it[2])
		local r = bin_range(tvb, it[3])
		local nt = ft:add(F.noise, r)
		if it[3].hlen >= 48 + 16 then
			nt:add(F["noise.s"], r(0, 48))
			nt:add(F["noise.payload"], r(48))
		end
	elseif ty == 4 and #it == 4 and is_uint(it[3]) and it[4].t == "bin" then
		local rsid = sid(F.receiver_sid, it[2])
		ft:add(F.counter, tvb(it[3].off, it[3].len), as_u64(it[3].v))
		info = info .. " to " .. rsid .. " n=" .. tostring(it[3].v)
		local r = bin_range(tvb, it[4])
		ft:add(F.ciphertext, r)
		if it[4].hlen >= 16 then
			ft:add(F.tag, r(it[4].hlen - 16, 16))
		end
		if keylog_loaded ~= p.prefs.keylog then
			load_keylog()
		end
		if u32(it[2]) and it[4].hlen >= 16 then
			local lo, hi = split_u64(it[3].v)
			local d = decrypt_data(pinfo, it[4].hoff + tvb:offset(), it[2].v, lo, hi,
			                       r:bytes():raw())
			if d then
				ft:add(F.decrypted, r, true)
				ft:add(F.key_index, r, d.line)
				local ptvb = ByteArray.new(d.pt, true):tvb("Decrypted DATA")
				local mi = dissect_msg(ptvb, pinfo, ft)
				if mi then
					info = info .. ": " .. mi
				end
			elseif p.prefs.keylog ~= "" then
				ft:add(F.decrypted, r, false)
				ft:add_proto_expert_info(ef_nokey)
			end
		end
	else
		add_malformed(ft, pinfo, tvb, "frame fields")
	end
	mp_tree(ft, tvb, f, "msgpack")
	return info
end

-- ---- ZMTP 3 (rfc.zeromq.org/spec/23 and 37) ------------------------------------------------

local GREETING_LEN = 64

-- The length of the ZMTP unit at off: nil when more bytes are needed to tell, false when the
-- bytes are no ZMTP.
local function zmtp_pdu_len(tvb, off)
	local left = tvb:len() - off
	local b = tvb(off, 1):uint()
	if b == 0xff then
		return GREETING_LEN
	end
	if b > 0x07 then
		return false
	end
	if band(b, 0x02) == 0 then
		if left < 2 then
			return nil
		end
		return 2 + tvb(off + 1, 1):uint()
	end
	if left < 9 then
		return nil
	end
	local size = tvb(off + 1, 8):uint64()
	if size:higher() ~= 0 or size:lower() > 0x7fffffff then
		return false
	end
	return 9 + size:lower()
end

local function dissect_greeting(tvb, tree)
	local t = tree:add(p, tvb(), "ZMTP greeting")
	t:add(F["zmtp.length"], tvb(), tvb:len())
	t:add(F["zmtp.signature"], tvb(0, 10))
	t:add(F["zmtp.version"], tvb(10, 2), tvb(10, 1):uint() .. "." .. tvb(11, 1):uint())
	t:add(F["zmtp.mechanism"], tvb(12, 20), tvb(12, 20):stringz())
	t:add(F["zmtp.as_server"], tvb(32, 1))
	return "ZMTP greeting " .. tvb(12, 20):stringz()
end

-- A command: name (1-byte length), then for READY its properties (1-byte name length, name,
-- 4-byte value length, value).
local function dissect_command(tvb, body_off, size, t, pinfo)
	if size < 1 then
		add_malformed(t, pinfo, tvb, "empty ZMTP command")
		return "ZMTP command?"
	end
	local nl = tvb(body_off, 1):uint()
	if 1 + nl > size then
		add_malformed(t, pinfo, tvb, "ZMTP command name")
		return "ZMTP command?"
	end
	local name = tvb(body_off + 1, nl):string()
	t:add(F["zmtp.command"], tvb(body_off, 1 + nl), name)
	if name == "READY" then
		local pos, stop = body_off + 1 + nl, body_off + size
		local props = {}
		while pos < stop do
			local kl = tvb(pos, 1):uint()
			if pos + 1 + kl + 4 > stop then
				add_malformed(t, pinfo, tvb, "ZMTP property")
				break
			end
			local k = tvb(pos + 1, kl):string()
			local vl = tvb(pos + 1 + kl, 4):uint()
			if pos + 1 + kl + 4 + vl > stop then
				add_malformed(t, pinfo, tvb, "ZMTP property value")
				break
			end
			local v = vl > 0 and tvb(pos + 5 + kl, vl):string() or ""
			t:add(F["zmtp.property"], tvb(pos, 5 + kl + vl), k .. "=" .. v)
			props[#props + 1] = k .. "=" .. v
			pos = pos + 5 + kl + vl
		end
		return "ZMTP READY " .. table.concat(props, " ")
	end
	if size > 1 + nl then
		t:add(F["zmtp.body"], tvb(body_off + 1 + nl, size - 1 - nl))
	end
	return "ZMTP " .. name
end

local function dissect_zmtp_unit(tvb, pinfo, tree)
	local b = tvb(0, 1):uint()
	if b == 0xff then
		return dissect_greeting(tvb, tree)
	end
	local hdr = band(b, 0x02) ~= 0 and 9 or 2
	local size = tvb:len() - hdr
	local t = tree:add(p, tvb(), "ZMTP frame")
	t:add(F["zmtp.length"], tvb(), tvb:len())
	local fl = t:add(F["zmtp.flags"], tvb(0, 1))
	fl:add(F["zmtp.flags.more"], tvb(0, 1))
	fl:add(F["zmtp.flags.long"], tvb(0, 1))
	fl:add(F["zmtp.flags.command"], tvb(0, 1))
	t:add(F["zmtp.size"], tvb(1, hdr - 1), UInt64.new(size))
	if band(b, 0x04) ~= 0 then
		t:set_text("ZMTP command")
		return dissect_command(tvb, hdr, size, t, pinfo)
	end
	t:set_text(string.format("ZMTP message frame (%d bytes)", size))
	if size == 0 then
		return "ZMTP empty frame"
	end
	return dissect_frame(tvb(hdr, size):tvb(), pinfo, t)
end

local function dissect_tcp(tvb, pinfo, parent)
	pinfo.cols.protocol = "meshnode"
	local tree = parent:add(p, tvb(), "meshnode link (ZMTP)")
	local off, len = 0, tvb:len()
	local infos = {}
	while off < len do
		local n = zmtp_pdu_len(tvb, off)
		if n == false then
			local t = tree:add(p, tvb(off), "Not ZMTP")
			t:add_proto_expert_info(ef_zmtp)
			infos[#infos + 1] = "[not ZMTP]"
			off = len
			break
		end
		if n == nil or off + n > len then
			pinfo.desegment_offset = off
			pinfo.desegment_len = n and (off + n - len) or DESEGMENT_ONE_MORE_SEGMENT
			break
		end
		infos[#infos + 1] = dissect_zmtp_unit(tvb(off, n):tvb(), pinfo, tree)
		off = off + n
	end
	if #infos > 0 then
		pinfo.cols.info = table.concat(infos, ", ")
	end
	return len
end

-- ---- entry points --------------------------------------------------------------------------

local function is_beacon(tvb)
	return tvb:len() >= 10 and tvb(0, 1):uint() == 0x94 and tvb(1, 1):uint() == 0xa8 and
	       tvb(2, 8):string() == "meshnode"
end

function p.dissector(tvb, pinfo, tree)
	if tvb:len() == 0 then
		return 0
	end
	if keylog_loaded ~= p.prefs.keylog then
		load_keylog()
	end
	-- a beacon starts with fixarray(4) and "meshnode"; a ZMTP stream with 0xff or flags 0..7
	if is_beacon(tvb) then
		return dissect_beacon(tvb, pinfo, tree)
	end
	return dissect_tcp(tvb, pinfo, tree)
end

-- The start of a ZMTP 3 connection: the signature 0xff, 8 bytes, 0x7f, then major version 3.
local function heur_tcp(tvb, pinfo, tree)
	if tvb:len() < 10 or tvb(0, 1):uint() ~= 0xff or tvb(9, 1):uint() ~= 0x7f then
		return false
	end
	if tvb:len() >= 11 and tvb(10, 1):uint() ~= 3 then
		return false
	end
	pinfo.conversation = p
	p.dissector(tvb, pinfo, tree)
	return true
end

local function heur_udp(tvb, pinfo, tree)
	if not is_beacon(tvb) then
		return false
	end
	p.dissector(tvb, pinfo, tree)
	return true
end

p:register_heuristic("tcp", heur_tcp)
p:register_heuristic("udp", heur_udp)

local registered_udp, registered_tcp = nil, nil

local function register_ports()
	local udp, tcp = DissectorTable.get("udp.port"), DissectorTable.get("tcp.port")
	if registered_udp then
		udp:remove(registered_udp, p)
	end
	if registered_tcp and registered_tcp ~= "" then
		tcp:remove(registered_tcp, p)
	end
	registered_udp = p.prefs.udp_port
	if registered_udp ~= 0 then
		udp:add(registered_udp, p)
	end
	registered_tcp = p.prefs.tcp_ports
	if registered_tcp and registered_tcp ~= "" then
		tcp:add(registered_tcp, p)
	end
end

function p.prefs_changed()
	register_ports()
	load_keylog()
	cache = {}
end

function p.init()
	load_keylog()
	cache = {}
end

register_ports()

-- ---- self test (tshark -r any.pcap -X lua_script:meshnode.lua -X lua_script1:selftest) ----
-- RFC 8439 test vectors 2.4.2 (ChaCha20), 2.5.2 (Poly1305), 2.8.2 (AEAD), and an
-- XChaCha20-Poly1305 vector made with libsodium's crypto_aead_xchacha20poly1305_ietf_encrypt
-- (key 80..9f, nonce 40..57, the same plaintext, no additional data; its first bytes are
-- those of draft-irtf-cfrg-xchacha's appendix A.3.1, which has additional data).

local function selftest()
	local ok, failed = 0, 0
	local function expect(name, got, want)
		if got == want then
			ok = ok + 1
		else
			failed = failed + 1
			print("meshnode.lua selftest: FAIL " .. name .. ": got " ..
			      (got and tohex(got) or "nil") .. ", want " .. (want and tohex(want) or "nil"))
		end
	end
	local sunscreen = "Ladies and Gentlemen of the class of '99: If I could offer you only " ..
	                  "one tip for the future, sunscreen would be it."
	local k0 = unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
	expect("chacha20 2.4.2",
	       chacha20_xor(k0, unhex("000000000000004a00000000"), 1, sunscreen),
	       unhex("6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b" ..
	             "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8" ..
	             "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736" ..
	             "5af90bbf74a35be6b40b8eedf2785e42874d"))
	expect("poly1305 2.5.2",
	       poly1305(unhex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b"),
	                "Cryptographic Forum Research Group"),
	       unhex("a8061dc1305136c6c22b8baf0c0127a9"))
	local k8 = unhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
	local ct = unhex("d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" ..
	                 "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" ..
	                 "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" ..
	                 "3ff4def08e4b7a9de576d26586cec64b6116" ..
	                 "1ae10b594f09e26a7e902ecbd0600691")
	local nonce = unhex("070000004041424344454647")
	local ad = unhex("50515253c0c1c2c3c4c5c6c7")
	expect("aead 2.8.2 open", aead_open(k8, nonce, ad, ct), sunscreen)
	local bad = ct:sub(1, -2) .. string.char(bxor(ct:byte(-1), 1))
	expect("aead 2.8.2 flipped tag", aead_open(k8, nonce, ad, bad), nil)
	expect("aead 2.8.2 other ad", aead_open(k8, nonce, "x" .. ad, ct), nil)
	-- Poly1305 edge cases: RFC 8439 appendix A.3 vectors 3 and 8, and one made with libsodium
	-- (crypto_onetimeauth_poly1305) whose limbs are all ones
	expect("poly1305 A.3 #3",
	       poly1305(unhex("36e5f6b5c5e06070f0efca96227a863e00000000000000000000000000000000"),
	                unhex("416e79207375626d697373696f6e20746f20746865204945544620696e74656e" ..
	                      "6465642062792074686520436f6e7472696275746f7220666f72207075626c69" ..
	                      "636174696f6e20617320616c6c206f722070617274206f6620616e2049455446" ..
	                      "20496e7465726e65742d4472616674206f722052464320616e6420616e792073" ..
	                      "746174656d656e74206d6164652077697468696e2074686520636f6e74657874" ..
	                      "206f6620616e204945544620616374697669747920697320636f6e7369646572" ..
	                      "656420616e20224945544620436f6e747269627574696f6e222e205375636820" ..
	                      "73746174656d656e747320696e636c756465206f72616c2073746174656d656e" ..
	                      "747320696e20494554462073657373696f6e732c2061732077656c6c20617320" ..
	                      "7772697474656e20616e6420656c656374726f6e696320636f6d6d756e696361" ..
	                      "74696f6e73206d61646520617420616e792074696d65206f7220706c6163652c" ..
	                      "207768696368206172652061646472657373656420746f")),
	       unhex("f3477e7cd95417af89a6b8794c310cf0"))
	expect("poly1305 A.3 #8",
	       poly1305(unhex("0100000000000000000000000000000000000000000000000000000000000000"),
	                unhex("ffffffffffffffffffffffffffffffff" .. "fbfefefefefefefefefefefefefefefe" ..
	                      "01010101010101010101010101010101")),
	       unhex("00000000000000000000000000000000"))
	expect("poly1305 all ones (libsodium)",
	       poly1305(string.rep("\255", 32), string.rep("\255", 67)),
	       unhex("bcdad92fd29e1a000381811949571a11"))
	local xn = unhex("404142434445464748494a4b4c4d4e4f5051525354555657")
	expect("xchacha20poly1305", xaead_open(k8, xn, "", unhex(
	       "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb" ..
	       "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452" ..
	       "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9" ..
	       "21f9664c97637da9768812f615c68b13b52ef7e62efbf45089db18f9c8a3f0e4" ..
	       "1e5f")), sunscreen)
	print(string.format("meshnode.lua selftest: %d passed, %d failed", ok, failed))
end

if script_args[1] == "selftest" then
	selftest()
end
