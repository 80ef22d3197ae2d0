using System.Globalization;

namespace Acp.GptOss.Hosting;

/// <summary>Sizes for people, in decimal units as the Hugging Face Hub and disk makers write them: 12.1 GB.</summary>
internal static class ByteSize
{
    private static readonly string[] s_units = ["B", "kB", "MB", "GB", "TB", "PB"];

    public static string Format(long bytes) => Format((double)bytes);

    public static string Format(double bytes)
    {
        int unit = 0;
        while (Math.Abs(bytes) >= 999.95 && unit < s_units.Length - 1)
        {
            bytes /= 1000;
            unit++;
        }

        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes:0} B")
            : string.Create(CultureInfo.InvariantCulture, $"{bytes:0.0} {s_units[unit]}");
    }
}
