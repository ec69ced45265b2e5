-- KEMI twin of tests/e2e/cfg/gateways.cfg's X-Mode: lookup, for
-- tests/e2e/test_gateways.py (run by cfg/kemi_lua.cfg with KEMI_SCRIPT):
-- sip_lookup_key() on X-Key (else $rU), then per target i the headers
-- X-Uri, X-Gw and X-Attrs "i value" ("i nil" when the function gives nil),
-- and X-Gw-Last / X-Attrs-Last (index -1), X-Gw-Past / X-Attrs-Past (99).

local function show(v)
	if v == nil then
		return "nil"
	end
	return v
end

function ksr_request_route()
	if KSR.is_method("OPTIONS") and KSR.pv.is_null("$rU") then
		KSR.sl.send_reply(200, "OK")
		return 1
	end
	if KSR.is_method("ACK") then
		return 1
	end
	local key = KSR.pv.gete("$hdr(X-Key)")
	if key == "" then
		key = KSR.pv.get("$rU")
	end
	local rc = KSR.redisroute.sip_lookup_key(key)
	local n = KSR.redisroute.lookup_count()
	KSR.hdr.append_to_reply("X-RC: " .. rc .. "\r\n")
	KSR.hdr.append_to_reply("X-Count: " .. n .. "\r\n")
	for i = 0, n - 1 do
		KSR.hdr.append_to_reply("X-Uri: " .. i .. " " .. show(KSR.redisroute.lookup_uri(i)) .. "\r\n")
		KSR.hdr.append_to_reply("X-Gw: " .. i .. " " .. show(KSR.redisroute.lookup_gw(i)) .. "\r\n")
		KSR.hdr.append_to_reply("X-Attrs: " .. i .. " " .. show(KSR.redisroute.lookup_attrs(i)) .. "\r\n")
	end
	KSR.hdr.append_to_reply("X-Gw-Last: " .. show(KSR.redisroute.lookup_gw(-1)) .. "\r\n")
	KSR.hdr.append_to_reply("X-Attrs-Last: " .. show(KSR.redisroute.lookup_attrs(-1)) .. "\r\n")
	KSR.hdr.append_to_reply("X-Gw-Past: " .. show(KSR.redisroute.lookup_gw(99)) .. "\r\n")
	KSR.hdr.append_to_reply("X-Attrs-Past: " .. show(KSR.redisroute.lookup_attrs(99)) .. "\r\n")
	KSR.sl.send_reply(200, "Looked Up")
	return 1
end
