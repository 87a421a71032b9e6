package io.pgactive.conn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConnInfoTest {

    @Test
    void parsesKeywordValuePairsWithQuotingAndEscapes() {
        ConnInfo info = ConnInfo.parse("host=db1  port = 5433 dbname='my app' password='it\\'s' user=a\\ b");
        assertEquals("db1", info.get("host"));
        assertEquals("5433", info.get("port"));
        assertEquals("my app", info.get("dbname"));
        assertEquals("it's", info.get("password"));
        assertEquals("a b", info.get("user"));
    }

    @Test
    void parsesUris() {
        ConnInfo info = ConnInfo.parse("postgresql://alice:s%40cret@10.0.0.5:6543/sales?sslmode=require");
        assertEquals("alice", info.get("user"));
        assertEquals("s@cret", info.get("password"));
        assertEquals("10.0.0.5", info.get("host"));
        assertEquals("6543", info.get("port"));
        assertEquals("sales", info.get("dbname"));
        assertEquals("require", info.get("sslmode"));
    }

    @Test
    void refusesWhatLibpqRefuses() {
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> ConnInfo.parse("host=a bogus=1"));
        assertEquals("invalid connection option \"bogus\"", unknown.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ConnInfo.parse("host"));
        assertThrows(IllegalArgumentException.class, () -> ConnInfo.parse("dbname='unterminated"));
    }

    @Test
    void masksPasswordsWhenPrinted() {
        String shown = ConnInfo.parse("host=a password=topsecret dbname='x y'").toString();
        assertFalse(shown.contains("topsecret"), shown);
        assertEquals("host=a password=******** dbname='x y'", shown);
    }

    @Test
    void tcpHostsBecomeJdbcUrls() {
        ConnInfo info = ConnInfo.parse("host=127.0.0.1 port=5999 dbname=app user=bob connect_timeout=3");
        assertEquals("jdbc:postgresql://127.0.0.1:5999/app", Connector.jdbcUrl(info));
        Properties p = Connector.properties(info, "pgactive:test", false);
        assertEquals("bob", p.getProperty("user"));
        assertEquals("3", p.getProperty("connectTimeout"));
        assertEquals("pgactive:test", p.getProperty("ApplicationName"));
        assertEquals(TcpKeepAliveSocketFactory.class.getName(), p.getProperty("socketFactory"));
        assertEquals("20,20,5", p.getProperty("socketFactoryArg"));
        assertNull(p.getProperty("replication"));
    }

    @Test
    void keepaliveSettingsReachTheSocket() throws Exception {
        Properties p = Connector.properties(
                ConnInfo.parse("host=h keepalives_idle=7 keepalives_interval=3 keepalives_count=2"), "x", true);
        TcpKeepAliveSocketFactory factory = new TcpKeepAliveSocketFactory(p.getProperty("socketFactoryArg"));
        try (java.net.Socket socket = factory.createSocket()) {
            assertTrue(socket.getKeepAlive());
            assertEquals(7, socket.getOption(jdk.net.ExtendedSocketOptions.TCP_KEEPIDLE));
            assertEquals(3, socket.getOption(jdk.net.ExtendedSocketOptions.TCP_KEEPINTERVAL));
            assertEquals(2, socket.getOption(jdk.net.ExtendedSocketOptions.TCP_KEEPCOUNT));
        }
        assertNull(Connector.properties(ConnInfo.parse("host=h keepalives=0"), "x", true).getProperty("socketFactory"));
    }

    @Test
    void socketDirectoriesUseUnixSockets() {
        ConnInfo info = ConnInfo.parse("host=/tmp/pg port=5432 dbname=app");
        Properties p = Connector.properties(info, "x", true);
        assertTrue(p.getProperty("socketFactory").contains("AFUNIXSocketFactory"));
        assertEquals("/tmp/pg/.s.PGSQL.5432", p.getProperty("socketFactoryArg"));
        assertEquals("database", p.getProperty("replication"));
    }

    @Test
    void withReplacesOneKeyword() {
        ConnInfo base = ConnInfo.parse("host=h dbname=a");
        assertEquals("b", base.with("dbname", "b").get("dbname"));
        assertEquals("a", base.get("dbname"));
    }

    @Test
    void aDsnNamingAUserMappingIsNeverUsedUnresolved() {
        ConnInfo dsn = ConnInfo.parse("user_mapping=postgres pgactive_foreign_server='srv 1' connect_timeout=5");
        assertTrue(UserMappings.named(dsn));
        assertEquals("srv 1", dsn.get("pgactive_foreign_server"));
        assertFalse(UserMappings.named(ConnInfo.parse("host=a")));
        IllegalStateException unresolved = assertThrows(IllegalStateException.class,
                () -> Connector.properties(dsn, "pgactive:test", false));
        assertTrue(unresolved.getMessage().contains("names a user mapping that was not resolved"), unresolved.getMessage());
    }

    @Test
    void libpqProgramsGetThePasswordInAPrivateFileNotOnTheirCommandLine(@TempDir Path dir) throws Exception {
        String password = "p:w\\ €'x";
        String argument = ConnInfo.parse("host=a user=u password='" + password.replace("\\", "\\\\").replace("'", "\\'") + "'")
                .libpqProgramArgument(dir);
        assertFalse(argument.contains("w\\"), argument);
        assertTrue(argument.startsWith("--dbname=host=a user=u passfile="), argument);
        Path passfile = Path.of(argument.substring(argument.indexOf("passfile=") + "passfile=".length()));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(passfile)));
        assertEquals(password, PassFile.password(passfile, "a", "5432", "db", "u").orElseThrow());
        assertEquals("--dbname=host=a", ConnInfo.parse("host=a").libpqProgramArgument(dir));
    }
}
