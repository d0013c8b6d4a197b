import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/**
 * Connects with pgjdbc or MariaDB Connector/J the way a Spring Boot application would: the JDBC URL,
 * user and password come from src/main/resources/application.properties (or application.yml) of
 * each case directory, overridden by SPRING_DATASOURCE_URL / _USERNAME / _PASSWORD in its .env (what
 * an env_file gives the process); spring.datasource.hikari.data-source-properties.* are passed to
 * the driver as connection properties, as Hikari does.
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
            Properties props = settings(dir);
            String url = props.getProperty("spring.datasource.url");
            Properties info = new Properties();
            info.setProperty("user", props.getProperty("spring.datasource.username"));
            info.setProperty("password", props.getProperty("spring.datasource.password"));
            String prefix = "spring.datasource.hikari.data-source-properties.";
            for (String key : props.stringPropertyNames()) {
                if (key.startsWith(prefix)) {
                    info.setProperty(key.substring(prefix.length()), props.getProperty(key));
                }
            }
            String sql = url.startsWith("jdbc:postgresql:")
                    ? "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
                    : "SHOW STATUS LIKE 'Ssl_cipher'";
            try (Connection c = DriverManager.getConnection(url, info);
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

    private static Properties settings(String dir) throws Exception {
        Properties props = new Properties();
        Path resources = Paths.get(dir, "src", "main", "resources");
        Path properties = resources.resolve("application.properties");
        Path yaml = resources.resolve("application.yml");
        if (Files.exists(properties)) {
            try (Reader r = Files.newBufferedReader(properties, StandardCharsets.UTF_8)) {
                props.load(r);
            }
        } else if (Files.exists(yaml)) {
            flattenYaml(Files.readAllLines(yaml, StandardCharsets.UTF_8), props);
        }
        Path env = Paths.get(dir, ".env");
        if (Files.exists(env)) {
            for (String line : Files.readAllLines(env, StandardCharsets.UTF_8)) {
                int eq = line.indexOf('=');
                if (eq > 0 && line.startsWith("SPRING_DATASOURCE_")) {
                    String key = "spring.datasource." + line.substring(18, eq).trim().toLowerCase();
                    props.setProperty(key, line.substring(eq + 1).trim());
                }
            }
        }
        return props;
    }

    /** Nested "key: value" YAML (maps only, two-space or any consistent indent) to dotted keys. */
    private static void flattenYaml(List<String> lines, Properties props) {
        List<Integer> indents = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        for (String raw : lines) {
            String text = raw.replaceAll("\\s+#.*$", "");
            if (text.trim().isEmpty() || text.trim().startsWith("#")) {
                continue;
            }
            int indent = text.length() - text.stripLeading().length();
            while (!indents.isEmpty() && indents.get(indents.size() - 1) >= indent) {
                indents.remove(indents.size() - 1);
                keys.remove(keys.size() - 1);
            }
            String[] kv = text.trim().split(":", 2);
            String value = kv.length > 1 ? kv[1].trim() : "";
            if (value.isEmpty()) {
                indents.add(indent);
                keys.add(kv[0].trim());
            } else {
                String prefix = keys.isEmpty() ? "" : String.join(".", keys) + ".";
                props.setProperty(prefix + kv[0].trim(), value.replaceAll("^[\"']|[\"']$", ""));
            }
        }
    }
}
