-- After a reload that added a customer for 203.0.113.0/24, nothing is unmatched.
dofile(os.getenv("SM_LUA_DIR") .. "/common.lua")
local conn = connect()
local r = send_eml(conn, os.getenv("SM_RELOAD_EML"), "<autoreports@shadowserver.org>")
if r ~= SMFIR_ACCEPT and r ~= SMFIR_CONTINUE then error("reloaded: unexpected reply " .. tostring(r)) end
local v = mt.getheader(conn, "X-Shadowmilter-Result", 0)
assert(v:find("notices=5 unmatched=0", 1, true), "after reload: " .. v)
mt.disconnect(conn)
