import java.io.BufferedReader;
import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Properties;

/**
 * Connects with pgjdbc or MariaDB Connector/J the way a Spring Boot application would: the JDBC URL,
 * user and password come from the application.properties of each case directory.
 *
 * One JVM serves many cases: it reads "ID\tDIR" lines on stdin, and for each "end" line prints
 * "ID\tok|fail\ttls|plain|-\tmessage" per case, then "end". JVM-wide settings (the truststore in
 * JAVA_TOOL_OPTIONS) are the caller's business: it starts one JVM per distinct setting.
 */
public final class ClientMatrix {
    public static void main(String[] args) throws Exception {
        DriverManager.setLoginTimeout(30);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        StringBuilder out = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            if (line.equals("end")) {
                System.out.print(out);
                System.out.println("end");
                System.out.flush();
                out.setLength(0);
                continue;
            }
            String[] parts = line.split("\t", 2);
            out.append(parts[0]).append('\t').append(runCase(parts[1])).append('\n');
        }
    }

    private static String runCase(String dir) {
        try {
            Properties props = new Properties();
            try (Reader r = new InputStreamReader(
                    new FileInputStream(dir + "/src/main/resources/application.properties"), StandardCharsets.UTF_8)) {
                props.load(r);
            }
            String url = props.getProperty("spring.datasource.url");
            String sql = url.startsWith("jdbc:postgresql:")
                    ? "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
                    : "SHOW STATUS LIKE 'Ssl_cipher'";
            try (Connection c = DriverManager.getConnection(url, props.getProperty("spring.datasource.username"),
                    props.getProperty("spring.datasource.password"));
                 Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery(sql)) {
                rs.next();
                boolean tls = url.startsWith("jdbc:postgresql:")
                        ? rs.getBoolean(1)
                        : rs.getString(2) != null && !rs.getString(2).isEmpty();
                return "ok\t" + (tls ? "tls" : "plain") + "\t";
            }
        } catch (Throwable e) {
            Throwable root = e;
            StringBuilder msg = new StringBuilder(String.valueOf(e));
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
                msg.append(" <- ").append(root);
            }
            return "fail\t-\t" + msg.toString().replace('\t', ' ').replace('\n', ' ');
        }
    }
}
