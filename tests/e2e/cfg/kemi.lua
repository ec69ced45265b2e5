-- KEMI routing for the tests: the X-Mode header picks what the request does.

local function reply_for(rc)
	if rc == -1 then
		KSR.sl.send_reply(404, "Not Found")
	elseif rc == -2 then
		KSR.sl.send_reply(503, "Routing Unavailable")
	else
		KSR.sl.send_reply(500, "Bad Route Data")
	end
end

function ksr_request_route()
	if KSR.is_method("OPTIONS") and KSR.pv.is_null("$rU") then
		KSR.sl.send_reply(200, "OK")
		return 1
	end
	if KSR.is_method("ACK") then
		if KSR.tm.t_check_trans() > 0 then
			KSR.tm.t_relay()
		end
		return 1
	end
	local mode = KSR.pv.gete("$hdr(X-Mode)")
	local rc
	if mode == "forward" then
		KSR.tm.t_on_failure("ksr_failure_failover")
		rc = KSR.redisroute.sip_forward()
		if rc ~= 1 then reply_for(rc) end
	elseif mode == "forward-key" then
		rc = KSR.redisroute.sip_forward_key(KSR.pv.gete("$hdr(X-Key)"))
		if rc ~= 1 then reply_for(rc) end
	elseif mode == "lookup" then
		rc = KSR.redisroute.sip_lookup_key(KSR.pv.gete("$hdr(X-Key)"))
		KSR.hdr.append_to_reply("X-RC: " .. rc .. "\r\n")
		KSR.hdr.append_to_reply("X-Count: " .. KSR.redisroute.lookup_count() .. "\r\n")
		local last = KSR.redisroute.lookup_uri(-1)
		if last ~= nil then
			KSR.hdr.append_to_reply("X-Last: " .. last .. "\r\n")
		end
		if KSR.redisroute.lookup_uri(99) == nil then
			KSR.hdr.append_to_reply("X-Past-End: nil\r\n")
		end
		KSR.sl.send_reply(200, "Looked Up")
	elseif mode == "async" then
		-- suspended: the request goes on in ksr_async_routed(); here only
		-- when it cannot be (async off: -4)
		rc = KSR.redisroute.sip_lookup_async("ksr_async_routed")
		if rc < 0 then
			KSR.hdr.append_to_reply("X-RC: " .. rc .. "\r\n")
			reply_for(rc)
		end
	elseif mode == "async-forward" then
		KSR.redisroute.sip_lookup_async("ksr_async_forward")
	elseif mode == "async-lookup" then
		KSR.redisroute.sip_lookup_async_key("ksr_async_lookup", KSR.pv.gete("$hdr(X-Key)"))
	elseif mode == "async-key" then
		KSR.redisroute.sip_lookup_async_key("ksr_async_routed", KSR.pv.gete("$hdr(X-Key)"))
	elseif mode == "code" then
		rc = KSR.redisroute.sip_redirect_code(KSR.pv.gete("$rU"), 301)
		if rc ~= 1 then reply_for(rc) end
	else
		rc = KSR.redisroute.sip_redirect()
		if rc ~= 1 then reply_for(rc) end
	end
	return 1
end

function ksr_failure_failover()
	if KSR.tm.t_is_canceled() > 0 then
		return 1
	end
	if KSR.tm.t_check_status("408|5[0-9][0-9]") < 0 then
		return 1
	end
	KSR.tm.t_on_failure("ksr_failure_failover")
	KSR.redisroute.sip_forward_next()
	return 1
end

-- resumes an async lookup: the answer is in lookup_rc() and $redisroute(...)
function ksr_async_routed()
	KSR.hdr.append_to_reply("X-RC: " .. KSR.redisroute.lookup_rc() .. "\r\n")
	local rc = KSR.redisroute.sip_redirect()
	if rc == -1 then
		KSR.tm.t_reply(404, "Not Found")
	elseif rc == -2 then
		KSR.tm.t_reply(503, "Routing Unavailable")
	elseif rc ~= 1 then
		KSR.tm.t_reply(500, "Bad Route Data")
	end
	return 1
end

-- resumes with sip_forward(), failing over in ksr_failure_failover()
function ksr_async_forward()
	KSR.tm.t_on_failure("ksr_failure_failover")
	local rc = KSR.redisroute.sip_forward()
	if rc ~= 1 then
		KSR.tm.t_reply(404, "Not Found")
	end
	return 1
end

-- resumes with sip_lookup(): the answer's targets, read
function ksr_async_lookup()
	local rc = KSR.redisroute.sip_lookup()
	KSR.hdr.append_to_reply("X-RC: " .. rc .. "\r\n")
	KSR.hdr.append_to_reply("X-Count: " .. KSR.redisroute.lookup_count() .. "\r\n")
	local first = KSR.redisroute.lookup_uri(0)
	if first ~= nil then
		KSR.hdr.append_to_reply("X-Uri0: " .. first .. "\r\n")
	end
	KSR.tm.t_reply(200, "Looked Up")
	return 1
end
