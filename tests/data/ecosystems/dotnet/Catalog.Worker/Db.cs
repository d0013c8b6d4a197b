using MySqlConnector;
using Npgsql;

namespace Catalog.Worker;

public static class Db
{
    public static MySqlConnection Catalog() =>
        new(new MySqlConnectionStringBuilder
        {
            Server = "catalog.abc.eu-west-1.rds.amazonaws.com",
            Database = "catalog",
            SslMode = MySqlSslMode.VerifyCA,
            SslCa = "/app/certs/rds-bundle.pem",
        }.ConnectionString);

    public static NpgsqlDataSource Pricing() =>
        NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder
        {
            Host = "pricing.abc.eu-west-1.rds.amazonaws.com",
            Database = "pricing",
            SslMode = SslMode.VerifyFull,
            RootCertificate = Environment.GetEnvironmentVariable("PRICING_DB_CA"),
        }.ConnectionString);
}
