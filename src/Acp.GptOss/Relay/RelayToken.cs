using System.Security.Cryptography;
using System.Text;

namespace Acp.GptOss.Relay;

/// <summary>The secret a relay client must present: from <c>ACP_GPTOSS_RELAY_TOKEN</c>, else a file made on first use.</summary>
internal sealed class RelayToken
{
    public const string EnvironmentVariable = "ACP_GPTOSS_RELAY_TOKEN";
    public const string FileName = "relay-token";

    private readonly byte[] _utf8;

    private RelayToken(string value, string source, bool generated)
    {
        Value = value;
        Source = source;
        Generated = generated;
        _utf8 = Encoding.UTF8.GetBytes(value);
    }

    public string Value { get; }

    /// <summary>Where it came from, for people: the variable's name or the file's path.</summary>
    public string Source { get; }

    /// <summary>True when this start created the file: the one time the token is shown.</summary>
    public bool Generated { get; }

    /// <summary>The token from the environment, else from <paramref name="directory"/>, creating it (0600, folder 0700) if absent.</summary>
    /// <exception cref="IOException">The file exists but is empty or unreadable.</exception>
    public static RelayToken Load(string directory) => Load(directory, Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>As <see cref="Load(string)"/>, with the variable's value given.</summary>
    public static RelayToken Load(string directory, string? fromEnvironment)
    {
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return new RelayToken(fromEnvironment.Trim(), EnvironmentVariable, generated: false);
        }

        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            if (TryCreate(directory, path) is { } created)
            {
                return new RelayToken(created, path, generated: true);
            }
        }

        string value = File.ReadAllText(path).Trim();
        return value.Length > 0 ? new RelayToken(value, path, generated: false) : throw new IOException($"{path} is empty: delete it to make a new token.");
    }

    /// <summary>Constant-time comparison, so the time to refuse says nothing about how much of a guess was right.</summary>
    public bool Matches(string? candidate)
    {
        if (candidate is null)
        {
            return false;
        }

        // Hashing first gives equal lengths without leaking the token's length through an early exit.
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(candidate)), SHA256.HashData(_utf8));
    }

    private static string? TryCreate(string directory, string path)
    {
        string token = Base64Url(RandomNumberGenerator.GetBytes(32));
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
        }
        else
        {
            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Set at creation: the token is never readable by others, not even for an instant.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using var writer = new StreamWriter(path, Encoding.ASCII, options);
            writer.WriteLine(token);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another relay made it first: use theirs.
            return null;
        }

        return token;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
