namespace Acp.GptOss.Tests.Support;

/// <summary>What /proc says of a process.</summary>
internal static class ProcessState
{
    /// <summary>True once the process no longer runs (gone from /proc, or a zombie), polled until <paramref name="within"/> passes.</summary>
    public static async Task<bool> IsGoneAsync(int pid, TimeSpan within)
    {
        DateTime deadline = DateTime.UtcNow + within;
        while (true)
        {
            string stat;
            try
            {
                stat = await File.ReadAllTextAsync($"/proc/{pid}/stat");
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException or IOException)
            {
                return true;
            }

            // Field 3, after the parenthesised command name, is the state.
            string state = stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[0];
            if (state is "Z" or "X")
            {
                return true;
            }

            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }
    }
}
