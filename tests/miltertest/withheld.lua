-- With AccountSettings saying acme: notify none, acme's notice is withheld: the
-- result says so, and the other four customers still get theirs.
dofile(os.getenv("SM_LUA_DIR") .. "/common.lua")
local conn = connect()
local r = send_eml(conn, os.getenv("SM_RELOAD_EML"), "<autoreports@shadowserver.org>")
if r ~= SMFIR_ACCEPT and r ~= SMFIR_CONTINUE then error("withheld: unexpected reply " .. tostring(r)) end
local v = mt.getheader(conn, "X-Shadowmilter-Result", 0)
assert(v:find("notices=4 unmatched=0", 1, true), "withheld: " .. v)
assert(v:find("withheld=1", 1, true), "withheld count: " .. v)
assert(v:find('acme scan_portmapper: account setting', 1, true), "withheld list: " .. v)
mt.disconnect(conn)
