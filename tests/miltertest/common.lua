-- common.lua - helpers for the miltertest scripts: connect, and send a whole
-- .eml (headers unfolded, then the body in chunks) as an MTA would.
sock = os.getenv("SM_SOCKET")

function connect()
	local conn = mt.connect(sock, 20, 0.25)
	assert(conn ~= nil, "cannot connect to " .. sock)
	assert(mt.conninfo(conn, "localhost", "127.0.0.1") == nil, "conninfo failed")
	assert(mt.helo(conn, "client.example") == nil, "helo failed")
	return conn
end

function expect(conn, want, what)
	local got = mt.getreply(conn)
	if got ~= want then
		error(what .. ": reply " .. tostring(got) .. ", wanted " .. tostring(want))
	end
end

-- send_eml - returns the reply after the last stage reached
function send_eml(conn, path, from, chunk)
	local f = assert(io.open(path, "rb"))
	local text = f:read("*a")
	f:close()
	local head, body = text:match("^(.-)\r?\n\r?\n(.*)$")
	mt.macro(conn, SMFIC_MAIL, "i", "QTEST1")
	assert(mt.mailfrom(conn, from) == nil, "mailfrom failed")
	assert(mt.rcptto(conn, "<abuse@example.net>") == nil, "rcptto failed")
	head = head:gsub("\r?\n[ \t]+", " ")
	for line in (head .. "\n"):gmatch("(.-)\r?\n") do
		local name, value = line:match("^([^:]+):%s*(.*)$")
		if name then
			assert(mt.header(conn, name, value) == nil, "header failed")
			if mt.getreply(conn) ~= SMFIR_CONTINUE then return mt.getreply(conn) end
		end
	end
	assert(mt.eoh(conn) == nil, "eoh failed")
	if mt.getreply(conn) ~= SMFIR_CONTINUE then return mt.getreply(conn) end
	chunk = chunk or 4096
	local i = 1
	while i <= #body do
		assert(mt.bodystring(conn, body:sub(i, i + chunk - 1)) == nil, "body failed")
		local r = mt.getreply(conn)
		if r == SMFIR_SKIP then break end
		if r ~= SMFIR_CONTINUE then return r end
		i = i + chunk
	end
	assert(mt.eom(conn) == nil, "eom failed")
	return mt.getreply(conn)
end
